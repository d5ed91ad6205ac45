"""``apply_edits``: all edits of one file, in memory, verified before they are returned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wizard.edits import jsonedit, locate, textops, xmlops
from wizard.edits.model import XML_OPS, Edit, EditOutcome, EditResult, plain
from wizard.edits.xmlfile import Patch, XmlDoc
from wizard.errors import Where, WizardError, step_failed
from wizard.secrets import Secret


def apply_edits(
    path: str, content: bytes, edits: Sequence[Edit], *, host: str | None = None
) -> EditResult:
    """Apply ``edits`` to ``content`` (the bytes of ``path`` on ``host``); pure, no I/O.

    The result's ``content`` equals the input bytes (``changed`` False) when every edit
    is already in place. Otherwise the new text is re-parsed and each edit must read
    back, else a WizardError is raised and nothing should be written.
    """
    edits = list(edits)
    xml = [e for e in edits if e.op in XML_OPS]
    if xml and len(xml) != len(edits):
        raise WizardError(
            "XML ops and text ops are mixed for one file",
            Where(host, path),
            "split the catalog entries: one file is either XML or text",
        )
    if xml:
        return _apply_xml(path, content, edits, host)
    return _apply_text(path, content, edits, host)


class _Unbatchable(Exception):
    """The edits of a file could not be computed together: apply them one by one."""


def _apply_xml(path: str, content: bytes, edits: list[Edit], host: str | None) -> EditResult:
    """All edits of one XML file.

    Fast path: the edits are computed in batches on one parse each (a file is re-parsed
    once per batch, not once per edit); a batch ends where an edit touches text another
    edit of the batch changes, or observes the file (verify, optional edits). After each
    batch the result is re-parsed and every edit of the batch must find itself in place;
    if any does not (one edit depended on another's new element), the file is done again
    one edit at a time, each on the result of the one before.
    """
    doc = XmlDoc(content, host=host, path=path)
    try:
        doc, outcomes, absent = _batched(doc, edits, host, path)
    except _Unbatchable:
        doc, outcomes, absent = _one_by_one(XmlDoc(content, host=host, path=path), edits)
    data = doc.data
    if data != content:
        for i, edit in enumerate(edits):
            if i not in absent and not xmlops.reads_back(doc, edit):
                raise _not_read_back(edit, host, path)
    return EditResult(path, host, content, data, outcomes)


def _one_by_one(doc: XmlDoc, edits: list[Edit]) -> tuple[XmlDoc, list[EditOutcome], set[int]]:
    outcomes: list[EditOutcome] = []
    absent: set[int] = set()
    for i, edit in enumerate(edits):
        if edit.optional and not _present(doc, edit):
            absent.add(i)
            outcomes.append(EditOutcome(edit, False, "not present, left as is"))
            continue
        change = xmlops.OPS[edit.op](doc, edit)
        new = doc.serialize(change.patches) if change.patches else doc.data
        changed = new != doc.data
        outcomes.append(
            EditOutcome(
                edit, changed, change.detail, change.line, tuple(change.masked), change.note
            )
        )
        if changed:  # re-parse: the result must be XML, and the next edit sees it
            doc = _reparse(new, doc)
    return doc, outcomes, absent


# Ops that only read the file: they see every edit before them.
_OBSERVERS = frozenset({"verify", "expect"})


def _batched(
    doc: XmlDoc, edits: list[Edit], host: str | None, path: str
) -> tuple[XmlDoc, list[EditOutcome], set[int]]:
    outcomes: list[EditOutcome] = []
    absent: set[int] = set()
    pending: list[Patch] = []
    batch: list[Edit] = []

    def flush() -> None:
        nonlocal doc, pending, batch
        if pending:
            new = doc.serialize(pending)
            if new != doc.data:
                doc = _reparse(new, doc)
                for edit in batch:  # each edit of the batch is in place in the result
                    try:
                        if xmlops.OPS[edit.op](doc, edit).patches:
                            raise _Unbatchable
                    except WizardError:
                        raise _Unbatchable from None
        pending, batch = [], []

    for i, edit in enumerate(edits):
        if edit.optional or edit.op in _OBSERVERS:
            flush()
        if edit.optional and not _present(doc, edit):
            absent.add(i)
            outcomes.append(EditOutcome(edit, False, "not present, left as is"))
            continue
        try:
            change = xmlops.OPS[edit.op](doc, edit)
        except WizardError:
            if not pending:
                raise
            flush()  # it may need what the batch adds: compute it on the batch's result
            change = xmlops.OPS[edit.op](doc, edit)
        live = [p for p in change.patches if p.new != doc.text[p.start : p.end]]
        if live and _overlaps(live, pending):
            flush()  # text the batch changes: compute it on the batch's result
            change = xmlops.OPS[edit.op](doc, edit)
            live = [p for p in change.patches if p.new != doc.text[p.start : p.end]]
        outcomes.append(
            EditOutcome(
                edit, bool(live), change.detail, change.line, tuple(change.masked), change.note
            )
        )
        if live:
            pending.extend(live)
            batch.append(edit)
    flush()
    return doc, outcomes, absent


def _overlaps(patches: list[Patch], pending: list[Patch]) -> bool:
    return any(_conflict(p, q) for p in patches for q in pending)


def _conflict(p: Patch, q: Patch) -> bool:
    """Whether two patches touch the same text. Two insertions at one point do too: one
    at a time, the second goes before the first ("after" the same anchor) or after it
    (after the last child, which the first now is)."""
    if p.start == p.end and q.start == q.end:
        return p.start == q.start
    if p.start == p.end:
        return q.start <= p.start <= q.end
    if q.start == q.end:
        return p.start <= q.start <= p.end
    return p.start < q.end and q.start < p.end


def _present(doc: XmlDoc, edit: Edit) -> bool:
    """Whether an optional edit's target exists (``/@attr`` locators: its element)."""
    locator = edit.locator.rsplit("/@", 1)[0] if "/@" in edit.locator else edit.locator
    return bool(locate.elements(doc, locator))


def _reparse(data: bytes, before: XmlDoc) -> XmlDoc:
    try:
        return XmlDoc(data, host=before.host, path=before.path, unit=before.indent_unit())
    except WizardError as exc:
        raise step_failed(
            f"internal: the edited file would not parse ({exc.what}); nothing was written",
            host=before.host,
            file=before.path,
        ) from exc


def _not_read_back(edit: Edit, host: str | None, path: str) -> WizardError:
    return step_failed(
        f"edit '{edit.describe()}' does not read back after applying; nothing was written",
        fix="another edit of the same file overrides it, or this is a bug: check the catalog",
        host=host,
        file=path,
    )


def _plain_tree(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        return {str(k): _plain_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_tree(v) for v in value]
    return value


def _leaves(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    return [str(value)] if isinstance(value, str) else []


def _text_edit(text: str, edit: Edit, where: Where) -> tuple[str, str]:
    if edit.op == "json":
        values = _plain_tree(edit.value)
        new = jsonedit.apply_json(text, edit.locator, values, where)
        return new, f"set {', '.join(values)} in {edit.locator or 'the top object'}"
    if edit.op == "prop":
        return textops.set_prop(text, edit.locator, plain(edit.value)), f"{edit.locator} set"
    if edit.op == "hosts":
        lines = _plain_tree(edit.value)
        if not isinstance(lines, list):
            raise WizardError("a hosts edit's value is a list of lines", where)
        new = textops.set_hosts_block(text, edit.locator, [plain(x) for x in lines], where)
        return new, f"block {edit.locator}: {len(lines)} line(s)"
    if edit.op == "replace_text":
        hits = textops.count_hits(text, edit.locator, plain(edit.value))
        new = textops.replace_text(text, edit.locator, plain(edit.value), where)
        return new, f"{len(hits)} hit(s)" + (f" at lines {hits}" if hits else "")
    raise WizardError(f"op {edit.op!r} does not apply to a text file", where)


def _text_reads_back(text: str, edit: Edit, where: Where) -> bool:
    if edit.op == "json":
        return jsonedit.holds(text, edit.locator, _plain_tree(edit.value), where)
    if edit.op == "prop":
        return textops.read_props(text).get(edit.locator) == plain(edit.value)
    if edit.op == "hosts":
        lines = [plain(x) for x in _plain_tree(edit.value)]
        return textops.hosts_lines(text, edit.locator, where) == lines
    return not textops.count_hits(text, edit.locator, plain(edit.value))


def _apply_text(path: str, content: bytes, edits: list[Edit], host: str | None) -> EditResult:
    where = Where(host, path)
    text = content.decode("utf-8", "surrogateescape")
    outcomes: list[EditOutcome] = []
    for edit in edits:
        new, detail = _text_edit(text, edit, where)
        masked = tuple(_leaves(_plain_tree(edit.value))) if edit.secret else ()
        changed = new != text
        outcomes.append(
            EditOutcome(edit, changed, detail if changed else "unchanged", None, masked)
        )
        text = new
    data = text.encode("utf-8", "surrogateescape")
    if data != content:
        for edit in edits:
            if not _text_reads_back(text, edit, where):
                raise _not_read_back(edit, host, path)
    return EditResult(path, host, content, data, outcomes)
