"""No secret in the session dir, the journal, the output, the product's logs or any
process's command line, during and after a full run (files, databases, start, ready).

The lab's secret files hold random passwords, so a hit is never a coincidence. They do
belong in the product's own config (master-datasources.xml): that is checked too, to
prove the scan would see them.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.lab.answers import answers_dict, lab_nodes

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"


LAB_HOSTS = 1


@pytest.fixture(scope="module")
def slab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


class CmdlineSampler(threading.Thread):
    """Every 50 ms, the command line of every process on the machine."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.seen: set[bytes] = set()
        self.rounds = 0

    def run(self) -> None:
        while not self.stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                        self.seen.add(fh.read().replace(b"\0", b" "))
                except OSError:
                    continue
            self.rounds += 1
            self.stop.wait(0.05)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def test_no_secret_leaves_a_full_run(slab: dict[str, Any], tmp_path: Path) -> None:
    from wizard.lab.pack import install_pack

    node = lab_nodes(slab, PATTERN)[0]
    pw = pwd.getpwnam(node["ssh"]["user"])
    base = Path(node["home"]).parent / "scan"
    base.mkdir(mode=0o755)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    home = install_pack(
        base / "wso2am-2.6.0",
        keystores=Path(slab["dir"]) / "files" / "keystores",
        boot_delay=0.5,
        owner=(pw.pw_uid, pw.pw_gid),
    )
    data = answers_dict(slab, PATTERN, db_prefix="scan_")
    data["product"]["home"] = str(home)
    data["nodes"][0]["home"] = str(home)
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    secrets_dir = Path(slab["dir"]) / "secrets"
    passwords = {
        name: (secrets_dir / f"{name}.password").read_text().strip()
        for name in ("db-admin", "db-app", "carbon-admin", "keystore")
    }
    assert all(len(v) >= 12 for v in passwords.values())  # random, never a coincidence
    sessions = tmp_path / "sessions"
    cmd = [sys.executable, "-m", "wizard", "--session-dir", str(sessions), "apply"]
    cmd += ["--answers", str(answers), "--yes", "--json", "--diff", "--start-timeout", "60"]

    sampler = CmdlineSampler()
    sampler.start()
    started = time.monotonic()
    try:
        res = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
        )
    finally:
        sampler.stop.set()
        sampler.join()
        pid_file = home / "wso2carbon.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass
    took = time.monotonic() - started
    assert res.returncode == 0, res.stdout + res.stderr
    assert '"step": "node:wait"' in res.stdout and '"diff"' in res.stdout

    # the sampler really watched the run: the wizard itself and the host side
    assert sampler.rounds >= 3, (sampler.rounds, took)  # several looks, not a rate
    assert any(b"wizard" in c and b" apply " in c for c in sampler.seen)
    assert any(c.startswith(f"sshd: {pw.pw_name}".encode()) for c in sampler.seen)

    session = next(p for p in sessions.iterdir() if p.is_dir())
    places: dict[str, bytes] = {"stdout": res.stdout.encode(), "stderr": res.stderr.encode()}
    for p in _files(session):  # session.json, answers, plan, journal, known_hosts, lock
        places[str(p)] = p.read_bytes()
    assert (session / "journal.jsonl").as_posix() in places
    logs = _files(home / "repository" / "logs")
    assert logs, "the fake server wrote no log"
    for p in logs + [p for p in _files(home) if ".carbon-wizard-" in p.name]:
        places[str(p)] = p.read_bytes()
    for i, c in enumerate(sorted(sampler.seen)):
        places[f"cmdline #{i}: {c[:80]!r}"] = c

    leaks = [
        f"{name} in {where}"
        for name, value in passwords.items()
        for where, data in places.items()
        if value.encode() in data
    ]
    assert not leaks, leaks

    # control: the product's own config holds the DB password (the scan would find it)
    datasources = home / "repository/conf/datasources/master-datasources.xml"
    assert passwords["db-app"].encode() in datasources.read_bytes()
