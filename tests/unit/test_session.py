from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.journal import Entry, Journal
from wizard.session import SessionStore, sessions_root


def test_root_resolution(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARBON_WIZARD_SESSION_DIR", str(tmp_path / "env"))
    assert sessions_root() == tmp_path / "env"
    assert sessions_root(tmp_path / "cli") == tmp_path / "cli"


def test_create_list_open_remove(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create("apim-all-in-one", hosts=["n1"])
    s.save_answers("pattern: apim-all-in-one\n")
    s.save_plan('{"steps": []}\n')
    assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(s.answers_path).st_mode) == 0o600
    assert [m.id for m in store.list()] == [s.meta.id]
    again = store.open(s.meta.id)
    assert again.meta.pattern == "apim-all-in-one" and again.load_plan() == {"steps": []}
    store.remove(s.meta.id)
    assert store.list() == []
    with pytest.raises(WizardError, match="no session"):
        store.open(s.meta.id)


def test_lock_refuses_second_wizard(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create("p")
    code = (
        "import sys; from pathlib import Path; from wizard.session import SessionStore\n"
        f"s = SessionStore(Path({str(tmp_path)!r})).open({s.meta.id!r})\n"
        "try:\n    s.lock()\nexcept Exception as e:\n    print(e); sys.exit(7)\n"
    )
    with s:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 7 and "in use by pid" in proc.stdout
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0


def test_journal_ignores_torn_last_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.append(Entry("start", "a"))
    j.append(Entry("done", "a", outcome="changed"))
    with open(tmp_path / "j.jsonl", "a") as fh:
        fh.write('{"event": "done", "step": "b"')  # killed mid-write
    assert list(j.finished()) == ["a"]
    assert j.last().step == "a"


def test_a_running_session_nobody_holds_lists_as_interrupted(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create("p")
    s.save_meta(state="running")
    with s:
        assert store.list()[0].state == "running"
    assert store.list()[0].state == "interrupted"  # e.g. after kill -9


def test_journal_appends_from_many_threads_are_whole_lines_and_share_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os as os_mod
    import threading

    from wizard.journal import Entry, Journal

    syncs: list[int] = []
    real_fsync = os_mod.fsync

    def slow_fsync(fd: int) -> None:  # a slow disk: appends pile up behind the flush
        syncs.append(fd)
        threading.Event().wait(0.01)
        real_fsync(fd)

    monkeypatch.setattr("wizard.journal.os.fsync", slow_fsync)
    journal = Journal(tmp_path / "journal.jsonl")

    def work(n: int) -> None:
        for i in range(20):
            journal.append(Entry("start", f"h{n}:step{i}", host=f"h{n}", message="x" * 300))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = list(journal.entries())
    assert len(entries) == 160
    assert {e.step for e in entries} == {f"h{n}:step{i}" for n in range(8) for i in range(20)}
    assert len(syncs) < 160  # fsyncs were shared
    assert journal._synced == 160  # and every line was covered by one


def test_pick_opens_the_given_or_the_latest_session_and_names_the_folder_when_none(
    tmp_path: Path,
) -> None:
    store = SessionStore(tmp_path)
    with pytest.raises(WizardError) as exc:
        store.pick(None)
    assert str(tmp_path) in exc.value.what and "apply --answers" in (exc.value.fix or "")
    first = store.create("apim-all-in-one")
    second = store.create("apim-active-passive")
    latest = store.list()[0].id
    assert latest in (first.meta.id, second.meta.id)
    assert store.pick(None).meta.id == latest
    assert store.pick(first.meta.id).meta.id == first.meta.id
