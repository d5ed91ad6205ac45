"""Leftover temp files of a killed write are removed before a file is edited; a temp
file this run is writing (another node's step in the same folder, e.g. two nodes on one
machine sharing /etc/hosts) is not: removing it made that write fail."""

from __future__ import annotations

from pathlib import Path

from wizard.connectors.base import RUN_TMP, TMP_MARK
from wizard.connectors.local import LocalTransport
from wizard.steps.files import remove_leftovers


def test_a_killed_runs_temp_file_goes_and_a_live_one_stays(tmp_path: Path) -> None:
    target = tmp_path / "hosts"
    target.write_text("127.0.0.1 localhost\n")
    killed = tmp_path / f".hosts{TMP_MARK}0a1b2c-deadbeef"  # another process's name
    live = tmp_path / f".hosts{RUN_TMP}cafe1234"  # this process's write under way
    other = tmp_path / f".other{TMP_MARK}0a1b2c-deadbeef"  # another file's: not ours here
    for p in (killed, live, other):
        p.write_text("partial")
    removed = remove_leftovers(LocalTransport(), str(target))
    assert removed == [str(killed)]
    assert not killed.exists() and live.exists() and other.exists()
    assert RUN_TMP.startswith(TMP_MARK) and RUN_TMP != f"{TMP_MARK}0a1b2c-"


def test_two_writes_of_one_file_side_by_side_both_land(tmp_path: Path) -> None:
    """What two nodes of one machine do to its hosts file: a write, and the other step's
    leftover sweep in the middle of it."""
    t = LocalTransport()
    target = tmp_path / "hosts"
    target.write_text("127.0.0.1 localhost\n")
    live = tmp_path / f".hosts{RUN_TMP}0000"
    live.write_text("in flight")
    remove_leftovers(t, str(target))
    assert live.exists()
    t.write_atomic(str(target), b"127.0.0.1 localhost\n10.0.0.9 db.example.com\n")
    assert target.read_bytes().endswith(b"db.example.com\n")
