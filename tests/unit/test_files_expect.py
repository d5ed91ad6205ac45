"""A file step writes on the bytes its check read: a file changed on the host between
the check and the write is read and edited again (the other change is kept, never
overwritten with edits of the old bytes); the check after the write compares a stat."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wizard.connectors.local import LocalTransport
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps.files import FileEditHandler

from .test_files_shared import STOCK


class Counting(LocalTransport):
    """The local transport, counting reads and stats."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def read(self, path: str, size: int | None = None) -> bytes:
        self.calls.append("read")
        return super().read(path, size)

    def stat(self, path: str) -> Any:
        self.calls.append("stat")
        return super().stat(path)


def _step(path: Path) -> Step:
    return Step(
        "node:file_edit:repository/conf/carbon.xml",
        "file_edit",
        "node",
        "carbon.xml",
        {
            "path": str(path),
            "file": "repository/conf/carbon.xml",
            "edits": [{"op": "set", "locator": "/c:Server/c:Ports/c:Offset", "value": "2"}],
        },
    )


def _setup(tmp_path: Path) -> tuple[Path, Counting, RunContext, FileEditHandler, Step]:
    path = tmp_path / "carbon.xml"
    path.write_bytes(STOCK)
    t = Counting()
    return (
        path,
        t,
        RunContext(session_id="s1", transport=lambda host: t),
        FileEditHandler(),
        _step(path),
    )


def test_a_file_changed_after_the_check_is_edited_as_it_is_then(tmp_path: Path) -> None:
    path, t, ctx, handler, step = _setup(tmp_path)
    assert not handler.check(step, ctx).satisfied
    # an admin's edit lands between the check and the write (a second later: a new mtime)
    path.write_bytes(STOCK.replace(b"localhost", b"apim.example.com"))
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 1))
    assert handler.apply(step, ctx).message == "changed"
    text = path.read_bytes()
    assert b"<HostName>apim.example.com</HostName>" in text  # the admin's edit is kept
    assert b"<Offset>2</Offset>" in text  # and ours made on top of it
    t.calls.clear()
    assert handler.check(step, ctx).satisfied  # the check right after the write takes
    assert t.calls == []  # the lstat its rename brought back: no call at all
    assert handler.check(step, ctx).satisfied  # a later one compares a stat with it
    assert t.calls == ["stat"]
    path.write_bytes(text.replace(b"<Offset>2<", b"<Offset>10<"))  # changed behind our back
    assert not handler.check(step, ctx).satisfied


def test_an_unchanged_file_is_written_without_reading_it_again(tmp_path: Path) -> None:
    path, t, ctx, handler, step = _setup(tmp_path)
    handler.check(step, ctx)
    t.calls.clear()
    handler.apply(step, ctx)
    assert "read" not in t.calls  # the check's bytes, the stat checked by the write itself
    assert b"<Offset>2</Offset>" in path.read_bytes()
    assert Path(f"{path}.carbon-wizard-s1.bak").read_bytes() == STOCK
