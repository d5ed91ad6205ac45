from __future__ import annotations

import json
from pathlib import Path

from wizard.cli import main
from wizard.journal import Entry
from wizard.session import SessionStore


def test_sessions_list_show_rm(tmp_path: Path, capsys) -> None:
    store = SessionStore(tmp_path)
    s = store.create("apim-all-in-one", hosts=["node1"])
    s.journal.append(Entry("done", "db-am", "db", "database", outcome="changed"))
    assert main(["--session-dir", str(tmp_path), "sessions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == s.meta.id and rows[0]["path"] == str(s.path)
    assert main(["--session-dir", str(tmp_path), "sessions"]) == 0
    assert "apim-all-in-one" in capsys.readouterr().out
    assert main(["--session-dir", str(tmp_path), "sessions", "show", s.meta.id]) == 0
    out = capsys.readouterr().out
    assert "finished_steps: 1" in out and "db-am" in out
    assert main(["--session-dir", str(tmp_path), "sessions", "rm", s.meta.id]) == 0
    assert store.list() == []
    assert main(["--session-dir", str(tmp_path), "sessions", "show", "nope"]) == 2
    assert "no session 'nope'" in capsys.readouterr().err
