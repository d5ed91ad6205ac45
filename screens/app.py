"""The Textual front end. The wizard flow is one coroutine (``flow``) that awaits each
screen's result; all blocking work runs in thread workers.

Only the welcome screen is imported before the first paint; the other screens and the
engine behind them load in a worker once it is painted (``preload``, screens/loading.py).
The methods that show them import them where they are used, after awaiting that worker."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerFailed

from screens import heap
from screens.loading import IMPORTS, load_screens
from screens.welcome import WelcomeScreen
from wizard.errors import EXIT_INTERRUPTED, WizardError
from wizard.secrets import redact

if TYPE_CHECKING:
    import argparse

    from wizard.flow import Drift, HostKeyStatus
    from wizard.plan import Plan, Step
    from wizard.questions.draft import Draft
    from wizard.session import Session, SessionStore


class WizardApp(App[int]):
    CSS_PATH = "wizard.tcss"
    TITLE = "carbon-wizard"
    SUB_TITLE = "WSO2 Carbon deployments without hand-editing"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, lab_dir: Path | None = None, session_dir: str | None = None) -> None:
        super().__init__()
        self.lab_dir = lab_dir
        self.session_dir = session_dir
        self._store: SessionStore | None = None
        self.session: Session | None = None
        self.draft: Draft | None = None
        self.plan: Plan | None = None  # the reviewed plan
        self.start_timeout: float | None = None  # seconds a node may take to start
        self._preloading: Worker[None] | None = None
        self._saves = 0  # save() calls so far (UI thread)
        self._saved = 0  # the newest of them written (under SESSION_WRITES)
        self._screen_saved = 0  # the newest of them that wrote the screen

    @property
    def store(self) -> SessionStore:
        """The saved setups (loaded on first use: the welcome screen's worker reads them
        after the first paint)."""
        if self._store is None:
            with IMPORTS:
                from wizard.session import SessionStore, sessions_root

            self._store = SessionStore(sessions_root(self.session_dir))
        return self._store

    def on_mount(self) -> None:
        self.flow(self._welcome())

    def _welcome(self) -> asyncio.Future[str]:
        """Show the welcome screen now (the first frame is it, not an empty screen); the
        future has its choice."""
        choice: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.push_screen(WelcomeScreen(), callback=lambda c: choice.set_result(c or "quit"))
        return choice

    def on_welcome_screen_painted(self) -> None:
        if self._preloading is None:
            self._preloading = self.preload()

    @work(thread=True, exit_on_error=False, group="preload")
    def preload(self) -> None:
        """Import the other screens and the engine, then freeze what was loaded out of
        the garbage collector: full collections walked every object loaded at start
        (Textual, paramiko, lxml, pydantic), pauses up to ~140 ms on the UI thread."""
        load_screens()
        gc.freeze()

    async def _loaded(self) -> None:
        """Await the preload (started here if the welcome screen was not painted yet):
        the imports that follow find their modules loaded. A failed preload is left to
        those imports to report."""
        if self._preloading is None:
            self._preloading = self.preload()
        try:
            await self._preloading.wait()
        except WorkerFailed:
            pass

    # -- the flow --------------------------------------------------------------------
    @work(exclusive=True, group="flow")
    async def flow(self, first: asyncio.Future[str]) -> None:
        welcome: asyncio.Future[str] | None = first
        while True:
            if welcome is None:  # a setup left: its screens are garbage now
                heap.reclaim()
            choice = await (welcome or self._welcome())
            welcome = None
            if choice == "quit":
                self.exit(0)
                return
            start = "pattern"
            await self._loaded()
            if choice.startswith("status:"):
                try:
                    session = self.store.open(choice.removeprefix("status:"))
                except WizardError as exc:
                    self.notify(redact(exc.render()), severity="error", timeout=10)
                    continue
                from screens.status import StatusScreen

                await self.push_screen_wait(StatusScreen(session))
                continue
            if choice.startswith("resume:"):
                try:  # reads the session's answers: off the UI thread
                    start = await asyncio.to_thread(self._resume, choice.removeprefix("resume:"))
                except WizardError as exc:
                    self.notify(redact(exc.render()), severity="error", timeout=10)
                    continue
            if await self._steps(start) == "exit":
                return

    async def _steps(self, start: str) -> str:
        from wizard.questions.draft import SCREENS

        sid = start
        while True:
            if sid != "pattern":
                self.save(screen=sid)
            result = await self._show(sid)
            if result == "back":
                if sid == "pattern":
                    return "welcome"
                sid = SCREENS[SCREENS.index(sid) - 1]
            elif result == "exit":
                self.exit(0)
                return "exit"
            else:
                sid = SCREENS[SCREENS.index(sid) + 1]

    async def _show(self, sid: str) -> str:
        from screens.done import DoneScreen
        from screens.form import FormScreen
        from screens.patterns import PatternScreen
        from screens.review import ReviewScreen
        from screens.run import RunScreen
        from wizard.questions.draft import FORM_PAGES

        if sid == "pattern":
            picked = await self.push_screen_wait(PatternScreen())
            if picked is None:
                return "back"
            await asyncio.to_thread(self._start_session, *picked)  # answers, session dir
            return "next"
        assert self.draft is not None and self.session is not None
        if sid in FORM_PAGES:
            return await self.push_screen_wait(FormScreen(sid, self.draft))
        if sid == "review":
            review = ReviewScreen(self.draft, self.session)
            result = await self.push_screen_wait(review)
            self.plan = review.plan
            return result
        if sid == "run":
            assert self.plan is not None  # a run always follows a passed review
            return await self.push_screen_wait(RunScreen(self.draft, self.session, self.plan))
        await self.push_screen_wait(DoneScreen(self.draft, self.session))
        return "exit"

    def _start_session(self, pattern_id: str, lab_answers: str | None) -> None:
        from wizard.questions.draft import new_draft

        keep = self.draft is not None and self.draft.pattern_id == pattern_id
        if not keep:
            self.draft = new_draft(pattern_id, lab_answers)
        if self.session is None:
            self.session = self.store.create(pattern_id)
            self.session.lock()
        else:
            self.session.meta.pattern = pattern_id

    def _resume(self, sid: str) -> str:
        from wizard.questions.draft import SCREENS, draft_from_yaml

        session = self.store.open(sid)
        session.lock()
        self.session = session
        text = session.answers_path.read_text() if session.answers_path.exists() else ""
        self.draft = draft_from_yaml(text)
        screen = session.meta.screen or "product"
        if screen in ("run", "done") or screen not in SCREENS:
            screen = "review"  # a run is never restarted without a fresh review
        return screen

    # -- saving ----------------------------------------------------------------------
    def save(self, screen: str | None = None) -> None:
        """Write the answers (references only) and the screen to the session, off the UI."""
        if self.session is None or self.draft is None:
            return
        text = self.draft.yaml()
        self._saves += 1
        seq = self._saves
        self.run_worker(lambda: self._write(text, screen, seq), thread=True, group="save")

    def _write(self, text: str, screen: str | None, seq: int) -> None:
        """Save workers may take the lock in any order: an older text never overwrites a
        newer one (typing fast starts one worker per key)."""
        from screens.jobs import SESSION_WRITES  # shared with the review and run workers

        assert self.session is not None
        with SESSION_WRITES:
            if seq > self._saved:
                self._saved = seq
                self.session.save_answers(text)
            if screen is not None and self.draft is not None and seq > self._screen_saved:
                self._screen_saved = seq
                self.session.save_meta(screen=screen, pattern=self.draft.pattern_id)

    # -- questions from worker threads -----------------------------------------------
    def ask_from_thread(self, screen: Screen[Any]) -> Any:
        """Show a dialog from a worker thread and wait for its answer (None when the app
        quits first: the worker then stops instead of waiting for ever)."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def answered(result: Any) -> None:
            box["result"] = result
            done.set()

        self.call_from_thread(self.push_screen, screen, answered)
        while not done.wait(0.5):
            if getattr(self, "_exit", False) or not self.is_running:
                return None
        return box.get("result")

    # (called from worker threads: a screen imported here is no UI-thread step)
    def confirm_keys(self, statuses: list[HostKeyStatus]) -> bool:
        from screens.hostkeys import HostKeysScreen

        return bool(self.ask_from_thread(HostKeysScreen(statuses)))

    def confirm_drift(self, drift: list[Drift]) -> bool:
        from screens.drift import DriftScreen

        return bool(self.ask_from_thread(DriftScreen(drift)))

    def keep_waiting(self, step: Step, seconds: float, why: str) -> bool:
        from screens.keepwaiting import KeepWaitingScreen

        return bool(self.ask_from_thread(KeepWaitingScreen(step.host, seconds, why)))

    def ask_secret(self, field: str, label: str) -> str:
        from screens.password import PasswordScreen
        from wizard.questions.model import secret_label

        value = self.ask_from_thread(PasswordScreen(field, secret_label(field)))
        if value is None:
            raise WizardError(f"no value given for {field}", exit_code=EXIT_INTERRUPTED)
        return str(value)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.unlock()


def run(args: argparse.Namespace) -> int:
    lab_dir = getattr(args, "lab_dir", None)
    app = WizardApp(Path(lab_dir) if lab_dir else None, getattr(args, "session_dir", None))
    return app.run() or 0
