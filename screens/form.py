"""One page of questions (product, database, hosts, certificates, advanced), built from
``wizard.questions.draft``. Fields validate as you type with the answers model's messages;
every change is saved to the session. On the hosts page of a pattern with a role of
several nodes, ctrl+o adds a node to a role and ctrl+r removes the focused node."""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from screens import jobs
from screens.host import wizard_of
from wizard.errors import WizardError
from wizard.questions.draft import Draft, Question, looks_like_reference
from wizard.questions.nodes import counts, ranged_roles
from wizard.secrets import redact

CHUNK = 6  # fields mounted per UI loop step (long pages come in parts)
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
        Binding("ctrl+o", "add_node", "Add node", priority=True),
        Binding("ctrl+r", "remove_node", "Remove node", priority=True),
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
        self.gen = 0  # bumped when the page is rebuilt (a node added or removed)
        self.keys = self._keys()
        self.shown: dict[str, str] = {}  # field id -> the message on screen
        self.refusal = False  # the status shows why Next was refused
        self.ranged = ranged_roles(draft.pattern) if page_id == "hosts" else []
        self.node_index: int | None = None  # the node whose field had the focus last
        self._reveal: Widget | None = None  # a field to show once the page is mounted

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

    def all_mounted(self) -> bool:
        """Whether every field of the page is mounted (long pages come in parts)."""
        last = list(self.keys)[-1] if self.keys else None
        return last is None or bool(self.query(f"#{last}"))

    def _mount_more(self, start: int, gen: int = 0) -> None:
        """Mount the next fields after a refresh: a long page never blocks the UI at once."""
        wids = list(self.keys)[start : start + CHUNK]
        if gen != self.gen:
            return  # the page was rebuilt since
        if not wids:  # all mounted: the focused field goes to the top of the view (or
            if self._reveal is not None:  # as far as it scrolls), however late the layout
                form = self.query_one("#form", VerticalScroll)
                self.call_after_refresh(
                    form.scroll_to_widget, self._reveal, animate=False, top=True
                )
                self._reveal = None
            return
        self.query_one("#form").mount_all(self._row_widgets(wids))
        self.call_after_refresh(self.refresh_errors)
        self.call_after_refresh(self._mount_more, start + CHUNK, gen)

    def on_mount(self) -> None:
        self.sub_title = self.page.title
        self.call_after_refresh(self._mount_more, CHUNK)
        self.refresh_errors()
        self._show_counts()
        first = self.query_one("#form").query("Input, Select").first()
        first.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":
            return self.page.action is not None
        if action == "add_node":
            return (True if self.draft.growable_roles() else None) if self.ranged else False
        if action == "remove_node":
            return (True if self.draft.shrinkable_roles() else None) if self.ranged else False
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
        self.shown = {}
        form = self.query_one("#form")
        await form.remove_children()
        wids = list(self.keys)
        target = next((w for w, q in self.keys.items() if q.key == focus_key), None)
        upto = max(CHUNK, wids.index(target) + 5 if target else 0)
        await form.mount_all(self._row_widgets(wids[:upto]))
        self.call_after_refresh(self._mount_more, upto, self.gen)
        self.query_one("#form-title", Static).update(f"{self.page.title}: {self.page.intro}")
        self.refresh_errors()
        self._show_counts()
        self._status(note)
        if target is not None:
            widget = self.query_one(f"#{target}")
            widget.focus()
            form.scroll_to_widget(widget, animate=False)
            self._reveal = widget  # and again once every field is laid out

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
