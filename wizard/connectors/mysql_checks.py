"""MySQL/MariaDB checks that need no connection of their own.

Name and host-pattern validation (refused before any SQL runs), the server's flavour
and version, the admin's global privileges from ``SHOW GRANTS``, the reachability of
the DB port from a node, and the report type every ``check_*``/``ensure_*`` returns.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from wizard.errors import bad_input, step_failed
from wizard.secrets import redact

_IDENT_RE = re.compile(r"^[A-Za-z0-9_]+$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LABEL = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
_HOST_RE = re.compile(
    r"^(?:%|localhost"
    rf"|{_OCTET}(?:\.{_OCTET}){{3}}(?:/{_OCTET}(?:\.{_OCTET}){{3}})?"  # IPv4, IPv4/netmask
    rf"|{_OCTET}(?:\.{_OCTET}){{0,2}}\.%"  # IPv4 prefix wildcard: 10.0.%
    r"|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"  # IPv6
    rf"|{_LABEL}(?:\.{_LABEL})*)$"  # hostname
)

# Global privileges the admin account needs: create DBs and users, grant (GRANT ALL on
# a DB needs the granter to hold the privileges it hands out), and run the dbscripts.
REQUIRED_PRIVILEGES = (
    "CREATE",
    "CREATE USER",
    "GRANT OPTION",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "DROP",
    "ALTER",
    "INDEX",
    "REFERENCES",
)

# ``run(cmd)`` on a node: returns (rc, out, err), or a transport Result with .rc/.out/.err.
Runner = Callable[[str], Any]


class Change(StrEnum):
    UNCHANGED = "unchanged"
    CREATED = "created"
    CHANGED = "changed"


@dataclass(frozen=True)
class Report:
    """What an operation did (``ensure_*``) or would do (``check_*``)."""

    change: Change
    subject: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.subject}: {self.change}" + (f" ({self.detail})" if self.detail else "")


def check_name(value: str, what: str = "database name", max_len: int = 64) -> str:
    """A database or user name: letters, digits and ``_`` only (refused before any SQL)."""
    if not isinstance(value, str) or not _IDENT_RE.fullmatch(value) or len(value) > max_len:
        raise bad_input(
            f"{what} {value!r} is not allowed",
            fix=f"use only letters, digits and _ (at most {max_len} characters)",
            field=what,
        )
    return value


def check_host_pattern(value: str) -> str:
    """A MySQL account host: ``%``, ``localhost``, an IP (or ``10.0.%``, ip/mask) or a hostname."""
    numeric = isinstance(value, str) and re.fullmatch(r"[0-9.]+", value) is not None
    if (
        not isinstance(value, str)
        or len(value) > 255
        or not _HOST_RE.fullmatch(value)
        or (numeric and not re.fullmatch(rf"{_OCTET}(?:\.{_OCTET}){{3}}", value))
    ):
        raise bad_input(
            f"account host {value!r} is not allowed",
            fix="use %, localhost, an IP address (10.0.0.5, 10.0.%), or a host name",
            field="db.user_hosts",
        )
    return value


def quote_ident(name: str) -> str:
    return f"`{check_name(name)}`"


def native_password_hash(password: str) -> str:
    """The ``mysql_native_password`` hash (what ``PASSWORD()`` returns)."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


SHA2_PLUGINS = frozenset({"caching_sha2_password", "sha256_password"})


@dataclass(frozen=True)
class ServerInfo:
    flavour: Literal["mariadb", "mysql"]
    version: tuple[int, int, int]
    version_text: str
    comment: str
    # what CREATE USER ... IDENTIFIED BY gives a new account on this server
    default_plugin: str = "mysql_native_password"

    @classmethod
    def parse(cls, version_text: str, comment: str) -> ServerInfo:
        m = re.match(r"(\d+)\.(\d+)\.(\d+)", version_text)
        version = (int(m[1]), int(m[2]), int(m[3])) if m else (0, 0, 0)
        maria = "mariadb" in version_text.lower() or "mariadb" in comment.lower()
        return cls("mariadb" if maria else "mysql", version, version_text, comment)

    def __str__(self) -> str:
        name = "MariaDB" if self.flavour == "mariadb" else "MySQL"
        return f"{name} {'.'.join(map(str, self.version))}"

    @property
    def user_if_not_exists(self) -> bool:
        return self.version >= ((10, 1, 3) if self.flavour == "mariadb" else (5, 7, 6))

    @property
    def alter_user(self) -> bool:
        return self.version >= ((10, 2, 0) if self.flavour == "mariadb" else (5, 7, 6))

    @property
    def wants_57_scripts(self) -> bool:
        """MySQL >= 5.7 and MariaDB >= 10.2 (strict by default, like MySQL 5.7) run the
        ``mysql5.7.sql`` dbscripts; older servers ``mysql.sql``."""
        return self.version >= ((10, 2, 0) if self.flavour == "mariadb" else (5, 7, 0))

    @property
    def variant(self) -> str:
        """The dbscript variant for this server: ``mysql5.7`` or ``mysql``."""
        return "mysql5.7" if self.wants_57_scripts else "mysql"

    @property
    def sha2_accounts(self) -> bool:
        """New accounts authenticate with SHA-256 (MySQL 8): a JDBC client without TLS
        must then be allowed to fetch the server's public key (Connector/J
        ``allowPublicKeyRetrieval=true``), else "Public Key Retrieval is not allowed"."""
        return self.default_plugin in SHA2_PLUGINS


def default_plugin_of(policy: str | None, legacy: str | None) -> str:
    """MySQL's default plugin: ``@@default_authentication_plugin`` (5.7, 8.0) or the first
    element of ``@@authentication_policy`` (8.0.27+, the only one from 8.4; ``*`` or empty
    means caching_sha2_password)."""
    if legacy:
        return legacy
    first = (policy or "").split(",")[0].strip()
    return first if first and first != "*" else "caching_sha2_password"


def parse_global_privileges(grants: Sequence[str]) -> set[str]:
    """Global privileges (``ON *.*``) in ``SHOW GRANTS`` lines; ALL expands to all we need."""
    privs: set[str] = set()
    for line in grants:
        m = re.match(r"GRANT (.+?) ON (\S+) TO ", line, re.S)
        if not m or m[2] != "*.*":
            continue
        for p in m[1].split(","):
            p = " ".join(p.split()).upper()
            if p in ("ALL", "ALL PRIVILEGES"):
                privs.update(x for x in REQUIRED_PRIVILEGES if x != "GRANT OPTION")
            else:
                privs.add(p)
        if re.search(r"WITH\b.*\bGRANT OPTION", line[m.end() :]):
            privs.add("GRANT OPTION")
    return privs


def check_reachable(run: Runner, host: str, port: int, node: str, timeout: int = 3) -> None:
    """From a node (``run`` executes a shell command there), check ``host:port`` accepts TCP."""
    check_host_pattern(host)
    if "%" in host or "/" in host:
        raise bad_input(f"{host!r} is an account pattern, not a database host", field="db.host")
    port = int(port)
    probe = shlex.quote(f"</dev/tcp/{host}/{port}")
    res = run(f"timeout {int(timeout)} bash -c {probe}")
    rc, out, err = (res.rc, res.out, res.err) if hasattr(res, "rc") else res
    if rc == 0:
        return
    said = redact((err or out).strip().splitlines()[-1] if (err or out).strip() else "")
    if rc == 124:
        why = f"no answer within {timeout}s"
    elif rc == 127:
        why = f"cannot test: {said or 'timeout or bash not found'}"
    else:
        why = said or f"exit code {rc}"
    raise step_failed(
        f"the database {host}:{port} is not reachable from this node: {why}",
        fix="check that the DB server listens on that address (bind-address in my.cnf, "
        "not 127.0.0.1 for remote nodes), that the port is right and no firewall blocks it",
        host=node,
    )
