"""Sessions on disk: one directory per setup, with answers (references only), the plan
with fingerprints, the journal, the session's known_hosts and a lock.

Layout of ``<root>/<id>/``: ``session.json`` (metadata), ``answers.yaml``, ``plan.json``,
``journal.jsonl``, ``known_hosts``, ``lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets as _random
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_state_dir

from wizard.errors import WizardError, bad_input
from wizard.journal import Journal

ENV_DIR = "CARBON_WIZARD_SESSION_DIR"
STATES = ("new", "planned", "running", "interrupted", "failed", "done")


def sessions_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--session-dir``, else ``$CARBON_WIZARD_SESSION_DIR``, else the platform state dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    return Path(user_state_dir("carbon-wizard")) / "sessions"


@dataclass
class SessionMeta:
    id: str
    pattern: str
    created: float
    updated: float
    state: str = "new"
    hosts: list[str] = field(default_factory=list)
    screen: str = ""
    last_step: str = ""


def _write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` whole or not at all (threads may write the same file: each
    writes its own temp file, the last rename wins)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Session:
    def __init__(self, path: Path, meta: SessionMeta) -> None:
        self.path = path
        self.meta = meta
        self.journal = Journal(path / "journal.jsonl")
        self._lock_fd: int | None = None
        self._meta_lock = threading.Lock()

    # files -----------------------------------------------------------------
    @property
    def answers_path(self) -> Path:
        return self.path / "answers.yaml"

    @property
    def plan_path(self) -> Path:
        return self.path / "plan.json"

    @property
    def known_hosts(self) -> Path:
        return self.path / "known_hosts"

    def save_meta(self, **changes: Any) -> None:
        with self._meta_lock:  # one read-modify-write at a time (UI and workers save)
            for k, v in changes.items():
                setattr(self.meta, k, v)
            self.meta.updated = time.time()
            text = json.dumps(asdict(self.meta), indent=2) + "\n"
            _write_atomic(self.path / "session.json", text)

    def save_answers(self, yaml_text: str) -> None:
        """Answers as the admin gave them: secrets are references, never values."""
        _write_atomic(self.answers_path, yaml_text)

    def save_plan(self, plan_json: str) -> None:
        _write_atomic(self.plan_path, plan_json)

    def load_plan(self) -> dict[str, Any] | None:
        if not self.plan_path.exists():
            return None
        return json.loads(self.plan_path.read_text(encoding="utf-8"))

    # lock ------------------------------------------------------------------
    def lock(self) -> None:
        """Hold the session: a second wizard on the same session is refused."""
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = (self.path / "lock").read_text(encoding="utf-8").strip() or "another process"
            raise WizardError(
                f"session {self.meta.id} is in use by {holder}",
                fix="wait for the other wizard to finish, or stop it",
                exit_code=1,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Session:
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()


class SessionStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, pattern: str, hosts: list[str] | None = None) -> Session:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = time.time()
        sid = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + _random.token_hex(3)
        path = self.root / sid
        path.mkdir(mode=0o700)
        session = Session(path, SessionMeta(sid, pattern, now, now, hosts=list(hosts or [])))
        session.save_meta()
        return session

    def open(self, sid: str) -> Session:
        path = self.root / sid
        meta_file = path / "session.json"
        if not meta_file.is_file():
            known = ", ".join(m.id for m in self.list()[:5]) or "none"
            raise bad_input(
                f"no session {sid!r} in {self.root}",
                fix=f"see 'carbon-wizard sessions' (recent: {known})",
            )
        try:
            meta = SessionMeta(**json.loads(meta_file.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise bad_input(f"session metadata is damaged: {exc}", file=str(meta_file)) from exc
        return Session(path, meta)

    def in_use(self, sid: str) -> bool:
        """Whether a wizard holds this session's lock right now."""
        path = self.root / sid / "lock"
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def list(self) -> list[SessionMeta]:
        metas: list[SessionMeta] = []
        if not self.root.is_dir():
            return metas
        for meta_file in self.root.glob("*/session.json"):
            try:
                meta = SessionMeta(**json.loads(meta_file.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                continue
            if meta.state == "running" and not self.in_use(meta.id):
                meta.state = "interrupted"  # killed (-9, power loss): nobody runs it now
            metas.append(meta)
        return sorted(metas, key=lambda m: m.updated, reverse=True)

    def latest(self) -> Session | None:
        metas = self.list()
        return self.open(metas[0].id) if metas else None

    def pick(self, sid: str | None) -> Session:
        """The session ``sid``, or the latest when none is given; no session: bad input."""
        session = self.open(sid) if sid else self.latest()
        if session is None:
            raise bad_input(
                f"there is no saved session in {self.root}",
                fix="start one with: carbon-wizard apply --answers FILE",
            )
        return session

    def remove(self, sid: str) -> None:
        session = self.open(sid)
        session.lock()  # refuse to remove a session in use
        try:
            shutil.rmtree(session.path)
        finally:
            session.unlock()
