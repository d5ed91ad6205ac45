"""``plan`` without ``--offline``: connect read-only to the hosts and the database server
and mark each step satisfied or "would change", with the file diffs it would make.

It is ``apply --check`` (the same :class:`wizard.flow.Flow`) in a throwaway session: host
keys must already be known (pinned in the answers or in ~/.ssh/known_hosts) unless
``accept_new`` is given.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wizard.answers import Answers
from wizard.catalog.model import Pattern
from wizard.executor import Event
from wizard.flow import Flow, Hooks, Prepared
from wizard.plan import Plan
from wizard.session import SessionStore


@dataclass
class StepState:
    state: str  # unchanged | would-change | failed | skipped
    message: str
    diff: str
    notes: list[str]


def check_plan(
    answers: Answers,
    pattern: Pattern,
    plan: Plan,
    *,
    accept_new: bool = False,
    parallelism: int = 8,
) -> tuple[Plan, dict[str, StepState]]:
    """The plan made against what the homes hold, and every step's state on the hosts."""
    root = Path(tempfile.mkdtemp(prefix="carbon-wizard-plan-"))
    states: dict[str, StepState] = {}

    def collect(e: Event) -> None:
        if e.state != "running":
            states[e.step.id] = StepState(e.state, e.message, e.diff, e.notes)

    try:
        session = SessionStore(root).create(plan.pattern, hosts=plan.hosts())
        flow = Flow(
            session, Hooks(on_event=collect), parallelism=parallelism, accept_new_keys=accept_new
        )
        result = flow.run(Prepared(answers, pattern, plan), check=True)
        return result.plan, states
    finally:
        shutil.rmtree(root, ignore_errors=True)


def render_states(plan: Plan, states: dict[str, StepState]) -> str:
    """What the hosts would see: one line per step that is not yet in place, with diffs."""
    lines = ["", "Checked on the hosts (read-only):"]
    counts: dict[str, int] = {}
    for step in plan.steps:
        st = states.get(step.id)
        if st is None:
            continue
        counts[st.state] = counts.get(st.state, 0) + 1
        if st.state == "unchanged" and not st.notes:
            continue
        first = st.message.splitlines()[0] if st.message else ""
        lines.append(f"  {step.host:<12} {st.state:<12} {step.id}  {first}".rstrip())
        if st.diff:
            lines.extend("    " + d for d in st.diff.rstrip("\n").splitlines())
        lines.extend(f"    note: {n}" for n in st.notes)
    summary = ", ".join(f"{n} {s.replace('unchanged', 'satisfied')}" for s, n in counts.items())
    lines.append(f"  {summary}")
    return "\n".join(lines) + "\n"
