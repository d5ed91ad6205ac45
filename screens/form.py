"""One page of questions (product, database, hosts, certificates), built from
``wizard.questions``. Fields validate as you type with the answers model's messages;
every change is saved to the session."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Label, Select, Static

from screens import jobs
from wizard.errors import WizardError
from wizard.questions import Draft, Question, looks_like_reference
from wizard.secrets import redact

CHUNK = 12  # fields mounted per UI loop step (long pages come in parts)
ACTIONS = {"test_db": "Test connection", "test_ssh": "Test SSH"}


def field_widget(q: Question, value: str, wid: str, typed: bool = False) -> Widget:
    """The widget for one question; ``typed``: a password typed in before (not shown)."""
    if q.kind == "choice":
        options = [(c, c) for c in q.choices]
        return Select(
            options,
            value=value if value in q.choices else q.choices[0],
            id=wid,
            allow_blank=False,
            compact=True,
        )
    if q.kind == "bool":
        return Select(
            [("yes", "yes"), ("no", "no")],
            value=value or "no",
            id=wid,
            allow_blank=False,
            compact=True,
        )
    if typed:
        hint = "typed in, kept in memory only (type to replace)"
        return Input("", id=wid, password=True, placeholder=hint, compact=True)
    secret = q.kind == "secret" and not looks_like_reference(value)
    return Input(value, id=wid, password=secret, placeholder=q.help, compact=True)


class FormScreen(Screen[str]):
    """Dismisses with ``next`` or ``back``; answers live in the shared :class:`Draft`."""

    BINDINGS = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
        Binding("ctrl+t", "check", "Test", priority=True),
    ]

    class Checked(Message):
        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, page_id: str, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        self.page = draft.page(page_id)
        self.keys = {f"f{i}": q for i, q in enumerate(self.page.questions)}
        self.shown: dict[str, str] = {}  # field id -> the message on screen
        self.refusal = False  # the status shows why Next was refused

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.page.title}: {self.page.intro}", id="form-title")
        with VerticalScroll(id="form"):  # per field: label and field, its message below
            yield from self._row_widgets(list(self.keys)[:CHUNK])
        action = ACTIONS.get(self.page.action or "")
        hint = f"ctrl+t: {action}.  " if action else ""
        self.hint = f"{hint}ctrl+n: Next, Esc: Back."
        yield Static(self.hint, id="form-status", markup=False)
        yield Footer()

    def _row_widgets(self, wids: list[str]) -> list[Widget]:
        out: list[Widget] = []
        for wid in wids:
            q = self.keys[wid]
            typed = q.key in self.draft.memory
            label = Label(q.label, classes="flabel")
            out.append(Horizontal(label, field_widget(q, self.draft.value(q.key), wid, typed)))
            out.append(Static("", id=f"{wid}-error", classes="ferror", markup=False))
        return out

    def _mount_more(self, start: int) -> None:
        """Mount the next fields after a refresh: a long page never blocks the UI at once."""
        wids = list(self.keys)[start : start + CHUNK]
        if not wids:
            return
        self.query_one("#form").mount_all(self._row_widgets(wids))
        self.call_after_refresh(self.refresh_errors)
        self.call_after_refresh(self._mount_more, start + CHUNK)

    def on_mount(self) -> None:
        self.sub_title = self.page.title
        self.call_after_refresh(self._mount_more, CHUNK)
        self.refresh_errors()
        first = self.query_one("#form").query("Input, Select").first()
        first.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":
            return self.page.action is not None
        return True

    # -- validation as you type ------------------------------------------------------
    def refresh_errors(self) -> None:
        for wid, q in self.keys.items():
            msg = self.draft.problem(q.key) or ""
            if self.shown.get(wid) == msg:
                continue
            found = self.query(f"#{wid}-error")
            if not found:
                continue  # not mounted yet
            self.shown[wid] = msg
            err = found.first(Static)
            err.update(msg)
            err.display = bool(msg)

    def _changed(self, wid: str | None, text: str) -> None:
        q = self.keys.get(wid or "")
        if (
            q is None
            or text == self.draft.value(q.key)
            or (not text and q.key in self.draft.memory)
        ):
            return  # no change (widgets report their first value when mounted)
        self.draft.set(q.key, text)
        self.refresh_errors()
        if self.refusal and not self.draft.page_problems(self.page):
            self.refusal = False
            self.query_one("#form-status", Static).update(self.hint)
        self.app.save()  # type: ignore[attr-defined]

    @on(Input.Changed)
    def input_changed(self, event: Input.Changed) -> None:
        q = self.keys.get(event.input.id or "")
        if q is not None and q.kind == "secret":
            event.input.password = not looks_like_reference(event.value)
        self._changed(event.input.id, event.value)

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        self._changed(event.select.id, str(event.value))

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.focus_next()

    # -- navigation ------------------------------------------------------------------
    def action_next(self) -> None:
        problems = self.draft.page_problems(self.page)
        if problems:
            self.refusal = True
            self.query_one("#form-status", Static).update(
                f"Fix {len(problems)} problem(s) first: {problems[0]}"
            )
            return
        self.dismiss("next")

    def action_back(self) -> None:
        self.dismiss("back")

    # -- test connection / test SSH --------------------------------------------------
    def action_check(self) -> None:
        if self.page.action:
            self.query_one("#form-status", Static).update(f"{ACTIONS[self.page.action]}...")
            self.run_check(self.page.action)

    @work(thread=True, exit_on_error=False, exclusive=True, group="check")
    def run_check(self, action: str) -> None:
        app = self.app
        try:
            if action == "test_db":
                text = jobs.test_db(self.draft, app.ask_secret)  # type: ignore[attr-defined]
            else:
                text = jobs.test_ssh(
                    self.draft,
                    app.session,  # type: ignore[attr-defined]
                    app.confirm_keys,  # type: ignore[attr-defined]
                    app.ask_secret,  # type: ignore[attr-defined]
                )
            self.post_message(self.Checked(redact(text), True))
        except WizardError as exc:
            self.post_message(self.Checked(redact(exc.render()), False))

    def on_form_screen_checked(self, message: Checked) -> None:
        status = self.query_one("#form-status", Static)
        status.update(message.text)
        status.set_class(not message.ok, "bad")
