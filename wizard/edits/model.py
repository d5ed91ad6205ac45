"""What an edit is (catalog data) and what applying edits to one file returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wizard.edits.diff import unified_diff
from wizard.errors import bad_input
from wizard.secrets import Secret

XML_OPS = frozenset({"set", "attr", "ins", "upsert", "add", "repl", "verify", "expect"})
TEXT_OPS = frozenset({"json", "prop", "hosts", "replace_text"})
OPS = XML_OPS | TEXT_OPS

# The namespace map every XPath in the catalog uses (docs/architecture.md, "Namespace map").
NSMAP: dict[str, str] = {
    "c": "http://wso2.org/projects/carbon/carbon.xml",
    "aa": "http://wso2.org/projects/carbon/application-authentication.xml",
    "ep": "http://wso2.org/carbon/eventpublisher",
    "svns": "http://org.wso2.securevault/configuration",
}

_FIELDS = ("op", "locator", "value", "attr", "after", "parent", "match", "secret", "optional")


@dataclass(frozen=True)
class Edit:
    """One change to one file, as the catalog describes it (see docs/architecture.md)."""

    op: str
    locator: str
    value: Any = None
    attr: str | None = None
    after: str | None = None
    parent: str | None = None
    match: str | None = None
    secret: bool = False
    optional: bool = (
        False  # set/attr/verify: a locator that finds nothing is reported, not an error
    )

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise bad_input(
                f"unknown edit op {self.op!r}",
                fix=f"use one of: {', '.join(sorted(OPS))}",
                field="op",
            )
        if not isinstance(self.locator, str) or (not self.locator and self.op != "json"):
            raise bad_input(f"edit {self.op!r} needs a locator", field="locator")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Edit:
        """Build an edit from catalog data (a YAML mapping), rejecting unknown keys."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise bad_input(
                f"unknown edit field(s): {', '.join(unknown)}",
                fix=f"an edit has: {', '.join(_FIELDS)}",
            )
        if "op" not in data:
            raise bad_input("edit has no op", field="op")
        return cls(**{k: data[k] for k in _FIELDS if k in data})

    def describe(self) -> str:
        """A one-line description that never shows a secret value."""
        target = self.locator
        if self.op == "attr" and self.attr:
            target = f"{target}/@{self.attr}"
        if self.op == "ins" and self.parent:
            target = f"{self.parent} {self.locator}"
        return f"{self.op} {target}"


def plain(value: object) -> str:
    """The text form of a scalar catalog value (``Secret`` revealed, YAML bools lower-case)."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value)
    raise bad_input(f"expected a text value, got {type(value).__name__}", field="value")


@dataclass
class EditOutcome:
    """What one edit did: ``changed`` False means it was already in place."""

    edit: Edit
    changed: bool
    detail: str
    line: int | None = None
    masked: tuple[str, ...] = ()
    note: str = ""  # something the admin should know, left as is (``expect``)


@dataclass
class EditResult:
    """The result of :func:`wizard.edits.apply.apply_edits` for one file."""

    path: str
    host: str | None
    before: bytes
    content: bytes
    outcomes: list[EditOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.content != self.before

    def notes(self) -> list[str]:
        """What the edits found and left as is (``expect``), one line each."""
        return [(f"line {o.line}: " if o.line else "") + o.note for o in self.outcomes if o.note]

    def masked_values(self) -> list[str]:
        """Values to mask in diffs on top of what ``wizard.secrets.redact`` knows."""
        return [v for o in self.outcomes for v in o.masked if v]

    def diff(self, context: int = 3) -> str:
        return unified_diff(self, context=context)
