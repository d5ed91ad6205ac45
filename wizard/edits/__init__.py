"""The edit engine: faithful, safe edits of product files (XML, site.json, properties, hosts).

Pure on bytes: :func:`apply_edits` takes a file's bytes and :class:`Edit` s and returns an
:class:`EditResult` (new bytes, per-edit outcomes, masked diff). Only ``atomic`` writes.
"""

from wizard.edits.apply import apply_edits
from wizard.edits.diff import unified_diff, unified_diffs
from wizard.edits.model import NSMAP, Edit, EditOutcome, EditResult

__all__ = [
    "NSMAP",
    "Edit",
    "EditOutcome",
    "EditResult",
    "apply_edits",
    "unified_diff",
    "unified_diffs",
]
