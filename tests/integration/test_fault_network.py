"""Network fault family: a host's sshd stops in the middle of a run and comes back later.
The run reports it (exit 1, naming the host), and `resume` finishes the setup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wizard.lab.answers import answers_for_lab
from wizard.wait import poll

pytestmark = pytest.mark.lab
LAB_HOSTS = 1
PATTERN = "apim-all-in-one"


@pytest.fixture(scope="module")
def nlab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid``: sshd's per-connection monitor and, under it, the
    process that serves the session (killing the monitor alone leaves that one serving)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo += parents.get(child, [])
    return out


def _port_open(address: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((address, port)) == 0


def test_sshd_stopped_mid_run_then_back_resume_finishes(
    nlab: dict[str, Any], tmp_path: Path, record_property
) -> None:
    record_property("fault_family", "network: sshd stopped mid-run")
    host = nlab["hosts"][0]
    sshd = int(host["sshd_pid"])
    # sshd retitles itself "sshd: /usr/sbin/sshd -D -f CFG -E LOG [listener] ...": its argv
    title = Path(f"/proc/{sshd}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    argv = title.removeprefix("sshd: ").split(" [listener]")[0].split()
    answers = tmp_path / "answers.yaml"
    answers.write_text(answers_for_lab(nlab, PATTERN, db_prefix="netf_"))
    sessions = tmp_path / "sessions"
    cmd = [
        sys.executable,
        "-m",
        "wizard",
        "--session-dir",
        str(sessions),
        "apply",
        "--answers",
        str(answers),
        "--yes",
        "--json",
        "--skip",
        "nodes",
        # one step at a time: the host's steps still lie ahead when the first step's line
        # is read (in parallel they could all be done by then on a busy machine)
        "--parallelism",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    restarted: subprocess.Popen[bytes] | None = None
    try:
        assert proc.stdout is not None
        # notes (the plan's layout, the preflight) come first; then the first step starts
        # and the run is under way: the preflight must have passed before the host goes
        while "note" in json.loads(proc.stdout.readline() or '{"step": "eof"}'):
            pass
        os.kill(proc.pid, signal.SIGSTOP)  # hold the wizard while the host goes away
        for pid in [sshd, *_children(sshd)]:  # the daemon and every session it serves
            os.kill(pid, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, out + err
        failed = [json.loads(x) for x in out.splitlines() if '"failed"' in x]
        # every failure (node steps, and DB scripts read from the node) names the host
        assert failed, out
        assert all(f"{host['address']}:{host['ssh_port']}" in e["message"] for e in failed), out
        # the connection opened before the steps (the homes are read first) drops, or a
        # reconnect cannot reach the host: either way the message says so
        assert any(w in e["message"] for e in failed for w in ("cannot reach", "dropped")), out
        assert "Traceback" not in err

        # the host comes back (same daemon, same host key)
        restarted = subprocess.Popen(argv)
        poll(lambda: _port_open(host["address"], host["ssh_port"]), deadline=20, what="sshd back")
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "wizard",
                "--session-dir",
                str(sessions),
                "resume",
                "--yes",
                "--skip",
                "nodes",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert " 0 failed" in res.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        if restarted is not None:
            for pid in [restarted.pid, *_children(restarted.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            restarted.wait(timeout=10)
