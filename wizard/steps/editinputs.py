"""The edits of a ``file_edit`` step as the edit engine takes them: secret references
in values resolved (and the edit marked secret, so its diff is masked)."""

from __future__ import annotations

from typing import Any

from wizard.edits.model import Edit
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.secretrefs import has_token, substitute


def _resolved(value: Any, ctx: RunContext) -> Any:
    if isinstance(value, str):
        return substitute(value, ctx.secret) if has_token(value) else value
    if isinstance(value, dict):
        return {k: _resolved(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, ctx) for v in value]
    return value


def edits_of(step: Step, ctx: RunContext) -> list[Edit]:
    out = []
    for raw in step.inputs.get("edits", []):
        data = dict(raw)
        if has_token(data.get("value")):
            data["value"] = _resolved(data["value"], ctx)
            data["secret"] = True
        out.append(Edit.from_mapping(data))
    return out
