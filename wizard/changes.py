"""What a step changed on its hosts, for the journal (and so for ``rollback``).

Each step runs with transports wrapped in a :class:`Recorder`: every atomic write is
noted with the path it wrote, whether a file was there before, the backup that keeps
the old bytes, and the sha256 of the new bytes (never the bytes). The executor journals
the notes with the step's ``done`` entry.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass
from typing import Any

from wizard.connectors.base import FileStat, Written


def backup_suffix(session_id: str) -> str:
    """The suffix of the backups a session keeps: ``<file>.carbon-wizard-<session>.bak``."""
    return f".carbon-wizard-{session_id}.bak"


@dataclass(frozen=True)
class Change:
    host: str
    path: str
    existed: bool
    backup: str | None
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            str(data["host"]),
            str(data["path"]),
            bool(data["existed"]),
            data.get("backup"),
            str(data["sha256"]),
        )


class Recorder:
    """The changes one step made (thread safe: a step may use several hosts)."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self._lock = threading.Lock()

    def wrap(self, transport: Any, host: str) -> Any:
        return _Recording(transport, self, host)

    def note(self, host: str, written: Written, data: bytes) -> None:
        change = Change(
            host, written.path, written.existed, written.backup, hashlib.sha256(data).hexdigest()
        )
        with self._lock:
            self.changes.append(change)


class _Recording:
    """A transport that notes its atomic writes; everything else goes through as is."""

    def __init__(self, inner: Any, recorder: Recorder, host: str) -> None:
        self._inner = inner
        self._recorder = recorder
        self._host = host

    def write_atomic(
        self,
        path: str,
        data: bytes,
        *,
        mode: int | None = None,
        backup_suffix: str | None = None,
        expect: FileStat | None = None,
    ) -> Written:
        written: Written = self._inner.write_atomic(
            path, data, mode=mode, backup_suffix=backup_suffix, expect=expect
        )
        if isinstance(written, Written):
            self._recorder.note(self._host, written, data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
