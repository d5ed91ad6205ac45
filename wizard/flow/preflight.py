"""The preflight gate: every read-only check, on every host at once, before any change
anywhere (like kubeadm's preflight phase). Any problem stops the run with all of them
listed; ``--ignore-preflight NAME`` waives a check.

Checks (each only where the selected steps need it):

- ``ssh``: every host of the run is reached (and, with ``ssh.sudo``, ``sudo`` works);
- ``db``: the DB admin logs in and has the privileges the database steps need;
- ``home``: each node's product home is there (or ``product.pack`` will unpack it);
- ``version``: the home holds the product and version the answers name;
- ``java``: JAVA_HOME's ``java -version`` is one 2.6.0 runs on (1.7/1.8: its
  ``bin/wso2server.sh`` says "CARBON is supported only on JDK 1.7 and 1.8", and a newer
  JVM refuses its ``-Djava.endorsed.dirs``);
- ``ports``: nothing else listens on the ports a node that is not running will open;
- ``disk``: room for the edits, logs (and an unpacked pack) where the home lives;
- ``db-reach``: each node that will start reaches the database port;
- ``tools``: the commands the host's steps run (``unzip`` or ``python3`` and
  ``sha256sum`` for a pack, ``ssh-keygen``/``ssh``/``rsync``/``crontab`` for the sync),
  see wizard/flow/preflight_pack.py, which also checks a home a pack will make: its
  folder missing or empty, the folder it goes in writable, room for zip and home.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.connectors.packzip import open_pack
from wizard.connectors.parallel import run_per_host
from wizard.errors import EXIT_BAD_INPUT, Where, WizardError
from wizard.flow import preflight_pack
from wizard.plan import Plan
from wizard.planning.layout import product_problem

if TYPE_CHECKING:
    from wizard.flow.model import Prepared
    from wizard.runner import Runner

CHECKS = ("ssh", "db", "home", "version", "java", "ports", "disk", "db-reach", "tools")
MIN_FREE_KB = 256 * 1024  # edits, backups, logs of a start
JAVA_OK = re.compile(r'version "1\.[78][._]')
_FILES = {"file_edit", "hosts_entry", "driver", "profile", "symlink", "certificate", "truststore"}
_JAVA = {"start", "wait", "certificate", "truststore"}


@dataclass(frozen=True)
class Problem:
    check: str
    host: str
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"[{self.check}] {self.host}: {self.what}" + (
            f" (fix: {self.fix})" if self.fix else ""
        )


def _q(text: str) -> str:
    return shlex.quote(text)


def _node_script(home: str, java: str | None, ports: list[int], start: bool, db: str) -> str:
    """One shell command a node runs for its checks: ``key=value`` lines back. ``java``:
    the answers' java_home ('' for the PATH's java), None for no Java check."""
    parts = [f"d={_q(home)}; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); done",
             "echo free=$(df -Pk \"$d\" | awk 'NR==2 {print $4}')"]  # fmt: skip
    if java is not None:  # None: no selected step runs Java, no JVM started for its version
        cmd = f"{_q(java)}/bin/java" if java else "java"
        parts.append(f"echo java=$({cmd} -version 2>&1 | head -1)")
    if start and ports:
        pid = _q(f"{home.rstrip('/')}/wso2carbon.pid")
        parts.append(
            f'if test -e {pid} && kill -0 "$(cat {pid})" 2>/dev/null; then echo running=1; '
            "else echo running=0; fi"
        )
        parts.append("echo listening=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | "
                     "awk '$4==\"0A\" {print $2}' | sort -u | tr '\\n' ' ')")  # fmt: skip
    if start and db:
        h, _, p = db.rpartition(":")
        probe = _q(f"</dev/tcp/{h}/{p}")
        parts.append(
            f"if timeout 3 bash -c {probe} 2>/dev/null; then echo db=1; else echo db=0; fi"
        )
    return "; ".join(parts)


def _node_checks(
    runner: Runner, prepared: Prepared, plan: Plan, node: Any, kinds: set[str]
) -> list[Problem]:
    out: list[Problem] = []
    facts = runner.facts
    name = node["name"]
    if facts is not None and name in facts.unreachable:
        err = facts.unreachable[name]
        return [Problem("ssh", name, err.what, err.fix or "")]
    home = node["home"]
    homefacts = facts.homes.get(name) if facts is not None else None
    unpack = homefacts is not None and homefacts.pack is not None  # product.pack makes it
    if kinds & _FILES and homefacts is not None and not homefacts.present:
        out.append(Problem("home", name, f"there is no product home at {home} "
                           "(no repository/conf/carbon.xml)",
                           "unpack the pack there, or give product.pack to have it unpacked"))  # fmt: skip
    if unpack and "pack" not in kinds and kinds & (_FILES | _JAVA):
        out.append(Problem("home", name, f"there is no product home at {home} yet and the "
                           "pack step that makes it is not selected",
                           "run without --only/--skip (or with --only files)"))  # fmt: skip
    pack = open_pack(str(prepared.answers.product.pack)) if unpack and "pack" in kinds else None
    wrong = product_problem(prepared.pattern, node, _ctx(prepared, node), homefacts)
    if wrong is not None:
        out.append(Problem("version", name, wrong.what, wrong.fix or ""))
    start = "start" in kinds
    ports = _ports(plan, name) if start else []
    java_home = prepared.answers.product.java_home
    java = (str(java_home) if java_home else "") if kinds & _JAVA else None
    db = next((s.inputs["tcp"][0] for s in plan.steps
               if s.kind == "preflight" and s.host == name and s.inputs.get("tcp")), "")  # fmt: skip
    script = _node_script(home, java, ports, start, db)
    script += "; " + preflight_pack.script(home, kinds, pack is not None)
    res = runner.transport(name).run(script, timeout=60)
    got = dict(line.split("=", 1) for line in res.out.splitlines() if "=" in line)
    free = int(got.get("free") or 0)
    for check, what, fix in preflight_pack.problems(home, got, free, MIN_FREE_KB, pack):
        out.append(Problem(check, name, what, fix))
    if kinds & _FILES and free < MIN_FREE_KB and pack is None:
        out.append(Problem("disk", name, f"{free // 1024} MB free where {home} lives",
                           f"free at least {MIN_FREE_KB // 1024 // 1024 or 1} GB there"))  # fmt: skip
    if kinds & _JAVA and not JAVA_OK.search(got.get("java", "")):
        seen = got.get("java", "").strip() or "no java found"
        where = f"{java}/bin/java" if java else "java on the PATH"
        out.append(Problem("java", name, f"{where}: {seen}; API Manager 2.6.0 runs on JDK "
                           "1.8 (its wso2server.sh: supported only on JDK 1.7 and 1.8)",
                           "install JDK 8 and give its path as product.java_home"))  # fmt: skip
    if ports and got.get("running") == "0":
        taken = _taken(got.get("listening", ""), node_address(prepared, name))
        busy = sorted(p for p in ports if p in taken)
        if busy:
            out.append(Problem("ports", name, f"ports {', '.join(map(str, busy))} are taken "
                               "by another process", "stop it, or give this node another "
                               "port offset (nodes[].offset)"))  # fmt: skip
    if start and db and got.get("db") == "0":
        out.append(Problem("db-reach", name, f"cannot reach the database at {db} from here",
                           "check the DB server's bind-address and the firewall between"))  # fmt: skip
    return out


def node_address(prepared: Prepared, name: str) -> str:
    return next(n.address for n in prepared.answers.nodes if n.name == name)


def _taken(listening: str, address: str) -> set[int]:
    """Ports listened on at ``address`` or on every address (``/proc/net/tcp{,6}``'s
    ``local_address`` of LISTEN sockets: hex IP, little-endian per 32-bit word, and port)."""
    try:
        mine = ipaddress.ip_address(address)
    except ValueError:
        mine = None  # a host name: any listener on the port counts
    out: set[int] = set()
    for item in listening.split():
        hexip, _, hexport = item.partition(":")
        raw = bytes.fromhex(hexip)
        ip = ipaddress.ip_address(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4)))
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if mine is None or ip.is_unspecified or ip == mine:
            out.add(int(hexport, 16))
    return out


def _ctx(prepared: Prepared, node: Any) -> dict[str, Any]:
    return {"product": {"version": prepared.answers.product.version}, "node": node}


def _ports(plan: Plan, node: str) -> list[int]:
    out: list[int] = []
    for s in plan.steps:
        if s.kind == "wait" and s.host == node:
            out += [int(p) for p in s.inputs.get("ports", {}).values()]
    return out


def _nodes(prepared: Prepared) -> list[dict[str, Any]]:
    a = prepared.answers
    return [{"name": n.name, "role": n.role, "home": n.home or a.product.home} for n in a.nodes]


def run_checks(runner: Runner, prepared: Prepared, plan: Plan, selected: set[str]) -> list[Problem]:
    """Every problem found, on every host at once (read-only)."""
    steps = [s for s in plan.steps if s.id in selected]
    by_host: dict[str, set[str]] = {}
    for s in steps:
        by_host.setdefault(s.host, set()).add(s.kind)
    problems: list[Problem] = []
    facts = runner.facts
    if by_host.get("db") and facts is not None and facts.server_error is not None:
        err = facts.server_error
        problems.append(Problem("db", "db", err.what, err.fix or ""))
    nodes = {n["name"]: n for n in _nodes(prepared) if n["name"] in by_host}
    results = run_per_host(
        list(nodes),
        lambda name: _node_checks(runner, prepared, plan, nodes[name], by_host[name]),
        parallelism=runner.parallelism,
    )
    for name, res in results.items():
        if isinstance(res, WizardError):
            problems.append(Problem("ssh", name, res.what, res.fix or ""))
        elif isinstance(res, BaseException):
            raise res
        else:
            problems += res
    problems += _other_hosts(runner, [h for h in by_host if h not in nodes and h != "db"])
    problems += _sudo(runner, [h for h in by_host if h != "db"])
    return problems


def _other_hosts(runner: Runner, hosts: list[str]) -> list[Problem]:
    """Hosts of the run that are not nodes (the load balancer): reached at all."""
    out = []
    for host, res in run_per_host(hosts, lambda h: runner.transport(h).run(["true"])).items():
        if isinstance(res, WizardError):
            out.append(Problem("ssh", host, res.what, res.fix or ""))
    return out


def _sudo(runner: Runner, hosts: list[str]) -> list[Problem]:
    wanted = [h for h in hosts if h in runner.targets and runner.targets[h].sudo]
    out = []
    for host, res in run_per_host(
        wanted, lambda h: runner.transport(h).run(["true"], sudo=True, timeout=30)
    ).items():
        if isinstance(res, WizardError):
            out.append(Problem("ssh", host, f"sudo: {res.what}", res.fix or ""))
        elif not isinstance(res, BaseException) and res.rc != 0:
            out.append(Problem("ssh", host, f"sudo true failed: {res.err.strip()[-200:]}"))
    return out


def gate(problems: list[Problem], ignore: set[str]) -> None:
    """Raise one error listing every problem not waived; nothing was changed."""
    left = [p for p in problems if p.check not in ignore]
    if not left:
        return
    lines = "\n".join(f"  {p.line()}" for p in left)
    names = ",".join(sorted({p.check for p in left}))
    raise WizardError(
        f"preflight: {len(left)} problem(s) ({names}), nothing was changed:\n{lines}",
        Where(),
        f"fix them and run again (or waive a check: --ignore-preflight {names})",
        EXIT_BAD_INPUT,
    )
