"""The append-only journal of a session: one JSON line per step event, fsync'd.

Every line passes through the one redaction point before it is written, so a secret
that reached a message by accident is masked on disk too.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wizard.secrets import redact

# "rolledback": a rollback of the session finished; what was done before it is undone
EVENTS = ("start", "done", "failed", "skipped", "interrupted", "drift", "rolledback")


@dataclass
class Entry:
    event: str
    step: str
    host: str = ""
    kind: str = ""
    fingerprint: str = ""
    outcome: str = ""  # changed | unchanged | would-change (check mode)
    message: str = ""
    seconds: float = 0.0
    ts: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


class Journal:
    """Append-only, fsync'd JSON lines. Safe to share between worker threads.

    ``append`` returns once its line is on disk. Threads appending at the same time share
    fsyncs (group commit): one fsync covers every line written before it began, so hosts
    worked in parallel do not queue behind each other's disk flushes. ``append(...,
    durable=False)`` returns once the line is written (a crashed process still leaves it
    in the file; only a crash of the machine may lose it): for lines nothing depends on
    until a later :meth:`sync` or durable append, which puts them on disk too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # the line counts
        self._sync = threading.Lock()  # one fsync at a time
        self._written = 0  # lines written (to the page cache)
        self._synced = 0  # lines known to be on disk

    def append(self, entry: Entry, *, durable: bool = True) -> None:
        if entry.event not in EVENTS:
            raise ValueError(f"unknown journal event {entry.event!r}")
        data = asdict(entry)
        data["message"] = redact(data["message"])
        # the files a step wrote are paths and hashes, taken as they are: a secret that
        # happens to be part of a path (the stock trust store password "wso2carbon" in
        # wso2carbon.jks) must not turn them into paths that do not exist
        wrote = data["extra"].pop("wrote", None)
        data = json.loads(redact(json.dumps(data, ensure_ascii=False)))
        if wrote is not None:
            data["extra"]["wrote"] = wrote
        line = json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"
        # one write(2) with O_APPEND: whole lines, never interleaved, and no lock held
        # across the system calls (threads queued on one that gave up the GIL there)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        with self._lock:  # counted once written: an fsync that begins later covers it
            self._written += 1
            mine = self._written
        if durable:
            self._flush(mine)

    def sync(self) -> None:
        """Return once every line written so far is on disk."""
        with self._lock:
            mine = self._written
        self._flush(mine)

    def _flush(self, mine: int) -> None:
        """fsync, unless an fsync that began after line ``mine`` was written covered it."""
        with self._sync:
            if self._synced >= mine:
                return  # an fsync that began after this line was written covered it
            upto = self._written
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = upto

    def entries(self) -> Iterator[Entry]:
        """Every complete line; a torn last line (a crash mid-write) is ignored."""
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as fh:
            for raw in fh:
                if not raw.endswith("\n"):
                    break
                try:
                    data = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                yield Entry(**data)

    def finished(self) -> dict[str, Entry]:
        """Step id -> the last ``done`` entry, for steps whose last event is ``done``
        (since the last finished rollback: what it undid is not done any more)."""
        last: dict[str, Entry] = {}
        for e in self.entries():
            if e.event == "rolledback":
                last.clear()
                continue
            last[e.step] = e
        return {k: v for k, v in last.items() if v.event == "done"}

    def since_rollback(self) -> list[Entry]:
        """Every entry after the last finished rollback (all of them when none)."""
        out: list[Entry] = []
        for e in self.entries():
            if e.event == "rolledback":
                out.clear()
            else:
                out.append(e)
        return out

    def last(self) -> Entry | None:
        result = None
        for e in self.entries():
            result = e
        return result
