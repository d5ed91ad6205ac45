"""Stopping lab processes: only ours, zombies count as dead, status reports the dead."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

from wizard.cli import main
from wizard.lab import labctl, labfile, procs
from wizard.wait import poll

from .test_lab_labfile import LAB


def test_only_a_process_whose_command_line_matches_is_ours() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert procs.alive(proc.pid)
        # right after fork the child may still show python's command line: wait for exec
        assert poll(lambda: procs.is_ours(proc.pid, "sleep 30"), deadline=5, what="exec")
        assert not procs.is_ours(proc.pid, "/tmp/some-lab/sshd/h2/sshd_config")
        assert procs.stop([proc.pid], deadline=5) == [proc.pid]
        assert not procs.alive(proc.pid)  # exited (and reaped), not a zombie that "lives"
    finally:
        proc.kill()
        proc.wait()
    assert not procs.alive(proc.pid)
    assert not procs.alive(None) and not procs.alive(-1)


def test_pid_file_reading(tmp_path: Path) -> None:
    f = tmp_path / "wso2carbon.pid"
    assert procs.read_pid_file(f) is None
    f.write_text("1234\n")
    assert procs.read_pid_file(f) == 1234
    f.write_text("garbage")
    assert procs.read_pid_file(f) is None


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_status_of_a_dead_lab_is_unhealthy_per_service(tmp_path: Path, capsys) -> None:
    lab = copy.deepcopy(LAB)
    lab["dir"] = str(tmp_path)
    lab["db"].update(pid=_dead_pid(), port=1)
    lab["hosts"][0].update(sshd_pid=_dead_pid(), address="127.0.0.1", ssh_port=1)
    lab["nginx"]["pid"] = _dead_pid()
    labfile.write(tmp_path, lab)
    st = labctl.status(tmp_path)
    assert st is not None
    assert st["healthy"] is False
    assert st["db"]["healthy"] is False
    assert st["hosts"][0]["healthy"] is False
    assert st["nginx"]["healthy"] is False
    assert main(["lab", "status", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("lab NOT healthy") and out.count("DOWN") == 3
    # down of a dead lab removes its directory (nothing left to stop)
    assert labctl.down(tmp_path) is True
    assert not tmp_path.exists()
