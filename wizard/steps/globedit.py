"""``file_edit`` steps whose file is a glob (OBK-E33: the Key Manager endpoint in every OB
API in-sequence): the pattern is expanded on the host (``**`` recursive), files without a
hit are left alone, and every changed file gets its own backup and atomic write."""

from __future__ import annotations

import shlex

from wizard.connectors.base import read_files
from wizard.edits import apply_edits
from wizard.edits.model import EditResult
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.steps.editinputs import edits_of


def expand(step: Step, ctx: RunContext) -> list[str]:
    pattern = step.inputs["path"]
    head, sep, tail = pattern.partition("*")
    # quote the literal prefix, let bash expand the rest (globstar for **)
    script = (
        "shopt -s globstar nullglob; "
        f'for f in {shlex.quote(head)}{sep}{tail}; do [ -f "$f" ] && printf \'%s\\n\' "$f"; done'
    )
    if any(c in tail for c in "$`;|&<>(){}\\\"' \n"):
        raise ValueError(f"unsafe characters in glob {pattern!r}")
    res = ctx.transport(step.host).run(["bash", "-c", script], timeout=60)
    res.check(f"listing {pattern}", host=step.host)
    return sorted(line for line in res.out.splitlines() if line)


def _hits(step: Step, content: bytes) -> bool:
    for e in step.inputs.get("edits", []):
        if e.get("op") == "replace_text" and e["locator"].encode() in content:
            return True
    return False


def results(step: Step, ctx: RunContext) -> list[EditResult]:
    t = ctx.transport(step.host)
    edits = edits_of(step, ctx)
    out = []
    paths = expand(step, ctx)
    found = read_files(t, paths)  # every file of the glob in one batch
    for path in paths:
        content = found[path][1]
        if content is None:
            content = t.read(path)  # gone since the listing: read() says so
        if not _hits(step, content):
            continue
        out.append(apply_edits(path, content, edits, host=step.host))
    return out


def check(step: Step, ctx: RunContext) -> Outcome:
    changed = [r for r in results(step, ctx) if r.changed]
    if not changed:
        return Outcome(True, f"no occurrence left in {step.inputs['path']}")
    names = ", ".join(r.path.rsplit("/", 1)[-1] for r in changed)
    return Outcome(
        False, f"would change {len(changed)} file(s): {names}", "".join(r.diff() for r in changed)
    )


def apply(step: Step, ctx: RunContext, backup_suffix: str) -> Outcome:
    t = ctx.transport(step.host)
    changed = [r for r in results(step, ctx) if r.changed]
    for r in changed:
        t.write_atomic(r.path, r.content, backup_suffix=backup_suffix)
    if changed:
        ctx.state.changed_hosts.add(step.host)
    return Outcome(True, f"changed {len(changed)} file(s)")
