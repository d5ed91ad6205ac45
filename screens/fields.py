"""The widgets of a form page's fields: per question a label and its field (a compact
select for a choice or yes/no, else an input), its message below."""

from __future__ import annotations

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from wizard.questions.draft import Draft, Question, looks_like_reference

__all__ = ["field_widget", "looks_like_reference", "row_widgets"]


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


def row_widgets(draft: Draft, questions: dict[str, Question]) -> list[Widget]:
    """The rows of ``questions`` (by field id): label and field, the message below (hidden
    while there is none)."""
    out: list[Widget] = []
    for wid, q in questions.items():
        typed = q.key in draft.memory
        field = field_widget(q, draft.value(q.key), wid, typed)
        out.append(Horizontal(Label(q.label, classes="flabel"), field))
        out.append(Static("", id=f"{wid}-error", classes="ferror", markup=False))
    return out
