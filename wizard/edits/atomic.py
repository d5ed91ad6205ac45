"""Write a local file atomically, keeping mode and owner, with one backup per session.

temp file in the same directory -> fsync -> rename over the target -> fsync the directory.
Before the first write of a session the original is kept as
``<file>.carbon-wizard-<session>.bak`` (never overwritten later in that session).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from wizard.errors import bad_input, step_failed

_SESSION = re.compile(r"[A-Za-z0-9._-]+")


def backup_path(path: Path, session: str) -> Path:
    if not _SESSION.fullmatch(session):
        raise bad_input(f"session id {session!r} is not usable in a file name")
    return path.with_name(f"{path.name}.carbon-wizard-{session}.bak")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(target: Path, data: bytes, st: os.stat_result | None, mode: int) -> Path:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".cw-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(fh.fileno(), st.st_uid, st.st_gid)
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, session: str, mode: int = 0o644
) -> Path | None:
    """Replace ``path`` with ``data``; return the session's backup path (None for a new file).

    ``mode`` applies to a new file only; an existing file keeps its mode and owner. A
    symlink is followed (the link stays). Nothing is written when the bytes are equal.
    """
    target = Path(os.path.realpath(path))
    backup = backup_path(target, session)
    tmp: Path | None = None
    try:
        st = target.stat() if target.exists() else None
        if st is not None and target.read_bytes() == data:
            return backup if backup.exists() else None
        if st is not None and not backup.exists():
            tmp = _write_temp(backup, target.read_bytes(), st, st.st_mode & 0o7777)
            shutil.copystat(target, tmp)
            os.replace(tmp, backup)
            tmp = None
        new_mode = st.st_mode & 0o7777 if st is not None else mode
        tmp = _write_temp(target, data, st, new_mode)
        os.replace(tmp, target)
        tmp = None
        _fsync_dir(target.parent)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise step_failed(
            f"cannot write {target}: {exc.strerror or exc}",
            fix="check free space and permissions of the directory; the file was not changed",
            file=str(target),
        ) from exc
    return backup if st is not None else None
