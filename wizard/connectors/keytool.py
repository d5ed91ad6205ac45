"""The JDK ``keytool`` on a node host, through a Transport.

Store and key passwords never reach keytool's argv: each goes into a 0600 file inside a
private (0700) temporary directory made on the host, passed as ``-storepass:file`` /
``-keypass:file``, and the directory is removed right after the command. Certificates are
read back as PEM (``-exportcert -rfc``) and compared by SHA-256 fingerprint in Python.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wizard.connectors.base import Result, Transport
from wizard.errors import EXIT_STEP_FAILED, Where, WizardError

_ENV = {"LC_ALL": "C"}  # keytool messages in English, so they can be recognised
_LIST_RE = re.compile(r"^(?P<alias>[^,\n]+), .*, (?P<type>PrivateKeyEntry|trustedCertEntry),")
_NO_ALIAS = ("does not exist",)
_BAD_PASSWORD = ("password was incorrect", "Tag number over 30")


class WrongStorePassword(WizardError):
    """keytool says the store password is wrong (not any other keytool failure)."""


@dataclass(frozen=True)
class Entry:
    alias: str
    kind: str  # PrivateKeyEntry | trustedCertEntry


class Keytool:
    """keytool at ``{java_home}/bin/keytool`` (or on PATH) on the transport's host."""

    def __init__(self, transport: Transport, java_home: str | None = None) -> None:
        self.t = transport
        self.binary = posixpath.join(java_home, "bin", "keytool") if java_home else "keytool"

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def secret_files(self, *values: str) -> Iterator[list[str]]:
        """0600 files holding ``values`` in a fresh 0700 directory; removed on exit."""
        made = self.t.run(["mktemp", "-d", "/tmp/cw-keytool.XXXXXXXX"], timeout=30)
        made.check("mktemp -d (for keytool password files)", host=self.t.host)
        tmpdir = made.out.strip()
        try:
            self.t.run(["chmod", "700", tmpdir], timeout=30).check("chmod", host=self.t.host)
            paths = []
            for i, value in enumerate(values):
                path = f"{tmpdir}/p{i}"
                # through stdin into a 0600 file: a transient secret, never an atomic
                # write (those are journaled with their sha256, for rollback)
                self.t.run(
                    f"umask 077 && cat > {shlex.quote(path)}",
                    stdin=value.encode("utf-8") + b"\n",
                    timeout=30,
                ).check("writing a keytool password file", host=self.t.host)
                paths.append(path)
            yield paths
        finally:
            self.t.run(["rm", "-rf", "--", tmpdir], timeout=30)

    def _run(self, args: list[str], what: str, *, stdin: bytes | None = None) -> Result:
        return self.t.run([self.binary, *args], stdin=stdin, timeout=120, env=_ENV)

    def _fail(self, res: Result, what: str, store: str) -> None:
        text = (res.err + res.out).strip()
        if any(m in text for m in _BAD_PASSWORD):
            raise WrongStorePassword(
                f"keytool cannot open {store}: the store password is wrong",
                Where(host=self.t.host, file=store),
                "give the store's real password in the answers (keystore.password / "
                "truststore.password; stock 2.6.0 stores use wso2carbon)",
                EXIT_STEP_FAILED,
            )
        res.check(f"keytool {what} on {store}", host=self.t.host)

    # -- queries ---------------------------------------------------------------------------

    def entries(self, store: str, password: str) -> list[Entry]:
        """The aliases of a store (``keytool -list``)."""
        with self.secret_files(password) as (pw,):
            res = self._run(["-list", "-keystore", store, "-storepass:file", pw], "-list")
        if res.rc != 0:
            self._fail(res, "-list", store)
        return [
            Entry(m["alias"], m["type"])
            for m in (_LIST_RE.match(line) for line in res.out.splitlines())
            if m
        ]

    def export_pem(self, store: str, alias: str, password: str) -> bytes | None:
        """The certificate of ``alias`` as PEM, or None when the alias (or store) is absent."""
        if not self.t.exists(store):
            return None
        with self.secret_files(password) as (pw,):
            res = self._run(
                ["-exportcert", "-rfc", "-alias", alias, "-keystore", store, "-storepass:file", pw],
                "-exportcert",
            )
        if res.rc != 0:
            if any(m in res.err + res.out for m in _NO_ALIAS):
                return None
            self._fail(res, "-exportcert", store)
        start = res.raw_out.find(b"-----BEGIN CERTIFICATE-----")
        return res.raw_out[start:] if start >= 0 else None

    def key_usable(self, store: str, alias: str, password: str, key_password: str) -> bool:
        """True when the private key of ``alias`` opens with ``key_password``."""
        with self.secret_files(password, key_password) as (pw, kpw):
            res = self._run(
                ["-certreq", "-alias", alias, "-keystore", store, "-storepass:file", pw,
                 "-keypass:file", kpw, "-file", posixpath.join(posixpath.dirname(pw), "req")],
                "-certreq",
            )  # fmt: skip
        return res.rc == 0

    # -- changes ---------------------------------------------------------------------------

    def genkeypair(
        self,
        store: str,
        alias: str,
        *,
        cn: str,
        days: int,
        key_bits: int,
        password: str,
        key_password: str,
        san: list[str] | None = None,
    ) -> None:
        """A new RSA key pair in a new JKS store (the file must not exist)."""
        names = san or [cn]
        ext = ",".join(("ip:" if _is_ip(n) else "dns:") + n for n in names)
        with self.secret_files(password, key_password) as (pw, kpw):
            res = self._run(
                ["-genkeypair", "-alias", alias, "-keyalg", "RSA", "-keysize", str(key_bits),
                 "-validity", str(days), "-dname", f"CN={_dn_escape(cn)}", "-ext", f"SAN={ext}",
                 "-keystore", store, "-storetype", "JKS",
                 "-storepass:file", pw, "-keypass:file", kpw],
                "-genkeypair",
            )  # fmt: skip
        if res.rc != 0:
            self._fail(res, "-genkeypair", store)

    def import_pem(self, store: str, alias: str, pem: bytes, password: str) -> None:
        """Import a trusted certificate (creates a JKS store when absent)."""
        create = not self.t.exists(store)
        with self.secret_files(password) as (pw,):
            cert = posixpath.join(posixpath.dirname(pw), "cert.pem")
            self.t.run(  # transient, in the 0700 directory: not an atomic (journaled) write
                f"umask 077 && cat > {shlex.quote(cert)}", stdin=pem, timeout=30
            ).check("writing the certificate for keytool", host=self.t.host)
            args = ["-importcert", "-noprompt", "-alias", alias, "-file", cert, "-keystore", store]
            if create:
                args += ["-storetype", "JKS"]
            res = self._run([*args, "-storepass:file", pw], "-importcert")
        if res.rc != 0:
            self._fail(res, "-importcert", store)

    def delete(self, store: str, alias: str, password: str) -> None:
        with self.secret_files(password) as (pw,):
            res = self._run(
                ["-delete", "-alias", alias, "-keystore", store, "-storepass:file", pw], "-delete"
            )
        if res.rc != 0:
            self._fail(res, "-delete", store)


def _is_ip(name: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*", name))


def _dn_escape(value: str) -> str:
    return re.sub(r'([,+"\\<>;=])', r"\\\1", value)
