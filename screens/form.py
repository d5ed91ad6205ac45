"""One page of questions (product, database, hosts, certificates, advanced), built from
``wizard.questions.draft``. Fields validate as you type with the answers model's messages;
every change is saved to the session. On the hosts page of a pattern with a role of
several nodes, ctrl+o adds a node to a role and ctrl+r removes the focused node."""

from __future__ import annotations

import copy

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Input, Select, Static

from screens import heap, jobs
from screens.fields import looks_like_reference, row_widgets
from screens.footer import KeyFooter
from screens.host import wizard_of
from wizard.errors import WizardError
from wizard.questions.draft import Draft, Page, Question
from wizard.questions.nodes import counts, ranged_roles
from wizard.secrets import redact

CHUNK = 3  # fields mounted per refresh: a long page comes in parts, none blocks the UI
ACTIONS = {"test_db": "Test connection", "test_ssh": "Test SSH"}


class FormScreen(Screen[str]):
    """Dismisses with ``next`` or ``back``; answers live in the shared :class:`Draft`."""

    BINDINGS = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
        Binding("ctrl+t", "check", "Test", priority=True),
        Binding("ctrl+o", "add_node", "Add node", priority=True),
        Binding("ctrl+r", "remove_node", "Remove node", priority=True),
    ]

    class Checked(Message):
        def __init__(self, text: str, ok: bool) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    class Validated(Message):
        """The answers model's verdict on the answers as they were at change ``edit``:
        the message under each field (by field id) and the page's problems."""

        def __init__(self, edit: int, messages: dict[str, str], problems: list[str]) -> None:
            super().__init__()
            self.edit = edit
            self.messages = messages
            self.problems = problems

    def __init__(self, page_id: str, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        self.page = draft.page(page_id)
        self.gen = 0  # bumped when the page is rebuilt (a node added or removed)
        self.keys = self._keys()
        self.shown: dict[str, str] = {}  # field id -> the message on screen
        self.messages: dict[str, str] = {}  # field id -> its message, last validated
        self.problems: list[str] = []  # the page's problems, last validated
        self.edit = 0  # bumped by each change to the answers; validated: the last checked
        self.validated = -1
        self.refusal = False  # the status shows why Next was refused
        self.ranged = ranged_roles(draft.pattern) if page_id == "hosts" else []
        self.node_index: int | None = None  # the node whose field had the focus last
        self._reveal: Widget | None = None  # a field to show once the page is mounted
        self._built = -1  # the generation of the page last built whole
        self._focus: str | None = None  # a field to focus once it is mounted
        self._resumed = False

    def _keys(self) -> dict[str, Question]:
        """Field id -> question; ids change with each rebuild, so that a late event from
        a removed field never lands on the field that took its place."""
        prefix = "f" if self.gen == 0 else f"g{self.gen}-f"
        return {f"{prefix}{i}": q for i, q in enumerate(self.page.questions)}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.page.title}: {self.page.intro}", id="form-title")
        with VerticalScroll(id="form"):  # per field: label and field, its message below
            yield from self._row_widgets(list(self.keys)[:CHUNK])
        if self.ranged:
            with Horizontal(id="node-controls"):
                for k, role in enumerate(self.ranged):
                    yield Button(f"+ {role} node", id=f"add-node-{k}", compact=True)
                yield Button("- this node", id="remove-node", compact=True)
                yield Static("", id="node-counts", markup=False)
        action = ACTIONS.get(self.page.action or "")
        hint = f"ctrl+t: {action}.  " if action else ""
        self.hint = f"{hint}ctrl+n: Next, Esc: Back."
        yield Static(self.hint, id="form-status", markup=False)
        yield KeyFooter()

    def _row_widgets(self, wids: list[str]) -> list[Widget]:
        return row_widgets(self.draft, {wid: self.keys[wid] for wid in wids})

    def all_mounted(self) -> bool:
        """Whether the page is built: every field mounted (long pages come in parts) and
        the field to go to, if any, scrolled into view."""
        return self._built == self.gen

    async def _mount_more(self, start: int, gen: int = 0) -> None:
        """Mount the next fields after a refresh: a long page never blocks the UI at once."""
        if gen != self.gen:
            return  # the page was rebuilt since
        wids = list(self.keys)[start : start + CHUNK]
        form = self.query_one("#form", VerticalScroll)
        if not wids:  # all mounted: the focused field goes to the top of the view (or
            reveal, self._reveal = self._reveal, None  # as far as it scrolls), however
            # late the layout; then the page is built

            def built() -> None:
                if reveal is not None:
                    form.scroll_to_widget(reveal, animate=False, top=True)
                self._built = gen
                heap.settle()

            self.call_after_refresh(built)
            return
        await form.mount_all(self._row_widgets(wids))
        if gen != self.gen:
            return
        heap.settle()  # these fields stay: later collections need not walk them again
        self.refresh_errors()
        if self._focus in wids:  # the field to go to (a node added or removed)
            widget = self.query_one(f"#{self._focus}")
            self._focus = None
            widget.focus(scroll_visible=False)  # the screen's own scroll is animated:
            form.scroll_to_widget(widget, animate=False)  # stopped midway by ours, it left
            # a fractional offset (the scrollbar drawn a cell apart; a snapshot flaked)
            self._reveal = widget  # and again once every field is laid out
        self.call_after_refresh(self._mount_more, start + CHUNK, gen)

    def _scrollbar_first(self) -> None:
        """A page sure to be longer than the view gets its scrollbar now: coming with a
        later part, it made every field mounted before laid out again one column
        narrower (a step of 50-80 ms). Sure: a line at least a field, a line each for the
        header, title, status, footer and node buttons."""
        lines = self.app.size.height - 4 - (1 if self.ranged else 0)
        form = self.query_one("#form", VerticalScroll)
        form.styles.overflow_y = "scroll" if len(self.keys) > lines else "auto"

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Runs before Screen's own: the first time, the fields were styled as they
        mounted a moment ago, no need to style the whole page again."""
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        self.sub_title = self.page.title
        self._scrollbar_first()
        self.call_after_refresh(self._mount_more, CHUNK)
        self._validate()
        self._show_counts()
        first = self.query_one("#form").query("Input, Select").first()
        self.set_focus(first)  # now: the screen's auto focus would take the scroll view

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":
            return self.page.action is not None
        if action == "add_node":
            return (True if self.draft.growable_roles() else None) if self.ranged else False
        if action == "remove_node":
            return (True if self.draft.shrinkable_roles() else None) if self.ranged else False
        return True

    # -- validation as you type ------------------------------------------------------
    def _validate(self) -> None:
        """Check the answers as they are now, off the UI thread (the answers model takes
        10-25 ms a time); :class:`Validated` brings the verdict."""
        self.edit += 1
        self.validate(self.edit, copy.deepcopy(self.draft.data), dict(self.keys), self.page)

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate")
    def validate(self, edit: int, data: dict[str, object], keys: dict[str, Question],
                 page: Page) -> None:  # fmt: skip
        draft = Draft(data)  # a copy: the UI thread goes on changing its own
        messages = {wid: draft.problem(q.key) or "" for wid, q in keys.items()}
        self.post_message(self.Validated(edit, messages, draft.page_problems(page)))

    def on_form_screen_validated(self, message: Validated) -> None:
        if message.edit != self.edit:
            return  # a later change is being checked
        self.validated = message.edit
        self.messages, self.problems = message.messages, message.problems
        self.refresh_errors()
        if self.refusal and not self.problems:
            self.refusal = False
            self.query_one("#form-status", Static).update(self.hint)

    def refresh_errors(self) -> None:
        """Show the last validated message under each mounted field."""
        for wid in self.keys:
            msg = self.messages.get(wid, "")
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
        self._validate()
        wizard_of(self).save()

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

    # -- nodes of a role with a range of counts ---------------------------------------
    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        node: Widget | None = event.widget
        while node is not None and node is not self:
            q = self.keys.get(node.id or "")
            if q is not None:
                parts = q.key.split(".")
                if parts[0] == "nodes" and parts[1].isdigit():
                    self.node_index = int(parts[1])
                return
            parent = node.parent
            node = parent if isinstance(parent, Widget) else None

    def _show_counts(self) -> None:
        if not self.ranged:
            return
        have = counts(self.draft.pattern, self.draft.data)
        roles = self.draft.pattern.roles
        text = ", ".join(f"{r}: {have[r]} of {roles[r].min}-{roles[r].max}" for r in self.ranged)
        self.query_one("#node-counts", Static).update(f" {text}")
        grow, shrink = self.draft.growable_roles(), self.draft.shrinkable_roles()
        for k, role in enumerate(self.ranged):
            self.query_one(f"#add-node-{k}", Button).disabled = role not in grow
        self.query_one("#remove-node", Button).disabled = not shrink
        self.refresh_bindings()

    def _status(self, text: str, bad: bool = False) -> None:
        status = self.query_one("#form-status", Static)
        status.update(text)
        status.set_class(bad, "bad")

    @on(Button.Pressed, "#node-controls Button")
    def node_button(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "remove-node":
            self.action_remove_node()
        elif bid.startswith("add-node-"):
            self.action_add_node(self.ranged[int(bid.removeprefix("add-node-"))])

    def action_add_node(self, role: str | None = None) -> None:
        """Add a node to ``role``: by default the focused node's role when it can grow,
        else the first role that can."""
        grow = self.draft.growable_roles()
        if role is None:
            nodes = self.draft.data.get("nodes") or []
            i = self.node_index
            focused = nodes[i].get("role") if i is not None and i < len(nodes) else None
            role = focused if focused in grow else (grow[0] if grow else None)
        if role is None or role not in grow:
            self._status("No role can take another node (each has its maximum).", True)
            return
        try:
            name = self.draft.add_node(role)
        except WizardError as exc:
            self._status(redact(exc.render()), True)
            return
        wizard_of(self).save()
        index = next(i for i, n in enumerate(self.draft.data["nodes"]) if n.get("name") == name)
        self._rebuild(f"nodes.{index}.address", f"Added {name} ({role}): set its address.")

    def action_remove_node(self) -> None:
        i = self.node_index
        nodes = self.draft.data.get("nodes") or []
        if i is None or i >= len(nodes):
            self._status("Move to a node's fields first (tab), then remove it.", True)
            return
        name = str(nodes[i].get("name"))
        try:
            self.draft.remove_node(name)
        except WizardError as exc:
            self._status(redact(exc.what), True)
            return
        wizard_of(self).save()
        left = self.draft.data.get("nodes") or []
        at = min(i, len(left) - 1)
        focus = f"nodes.{at}.address" if left else None
        self.node_index = None
        self._rebuild(focus, f"Removed {name}.")

    @work(exclusive=True, group="rebuild")
    async def _rebuild(self, focus_key: str | None, note: str) -> None:
        """Rebuild the fields after the nodes changed, then focus ``focus_key``."""
        self.gen += 1
        self.page = self.draft.page(self.page.id)
        self.keys = self._keys()
        self.shown, self.messages = {}, {}
        self._validate()
        form = self.query_one("#form")
        self.set_focus(None)  # else it goes to the scroll view: all its fields restyled
        await form.remove_children()
        self._scrollbar_first()
        self._focus = next((w for w, q in self.keys.items() if q.key == focus_key), None)
        self.call_after_refresh(self._mount_more, 0, self.gen)
        self.query_one("#form-title", Static).update(f"{self.page.title}: {self.page.intro}")
        self._show_counts()
        self._status(note)

    # -- navigation ------------------------------------------------------------------
    def action_next(self) -> None:
        # checked here, on the answers as they are: a verdict of the worker may belong to
        # an earlier page state (seen under load: Next refused, the page kept); one
        # check of 10-25 ms on a key press that leaves the page
        problems = Draft(copy.deepcopy(self.draft.data)).page_problems(self.page)
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
        app = wizard_of(self)
        try:
            if action == "test_db":
                text = jobs.test_db(self.draft, app.ask_secret)
            elif app.session is None:
                raise WizardError("no session yet: pick a pattern first")
            else:
                text = jobs.test_ssh(
                    self.draft,
                    app.session,
                    app.confirm_keys,
                    app.ask_secret,
                )
            self.post_message(self.Checked(redact(text), True))
        except WizardError as exc:
            self.post_message(self.Checked(redact(exc.render()), False))

    def on_form_screen_checked(self, message: Checked) -> None:
        status = self.query_one("#form-status", Static)
        status.update(message.text)
        status.set_class(not message.ok, "bad")
