"""The critical path of a plan: the chain of dependent steps whose work adds up to the
longest time. A run cannot end before it does, however many hosts work at once; work
off it can only make the run longer by competing for the same hosts.

How steps are weighed (seconds):

- a step that an earlier run of the session journaled as ``done`` with a change weighs
  what it took then (:func:`journaled`): a wait weighs that node's real boot;
- otherwise the estimate of its kind (:data:`ESTIMATES`): a ``wait`` for a node weighs
  a boot of API Manager 2.6.0 (:data:`BOOT_ESTIMATE`, 60 s), a wait through the load
  balancer (a ``url`` probe) a few seconds, a dbscript a few seconds, a file edit a
  few hundredths.

The executor runs, among the steps ready at the same time, the one with the heaviest
chain still ahead of it first (:attr:`CriticalPath.ahead`); ``plan --json`` and the
review show the path itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # wizard.plan uses this module (Plan.report)
    from wizard.plan import Plan, Step

BOOT_ESTIMATE = 60.0  # a 2.6.0 node from start to "WSO2 Carbon started" on a usual host
PROBE_ESTIMATE = 3.0  # a wait for an answer through the load balancer, nodes ready
ESTIMATES: dict[str, float] = {
    "preflight": 0.1,
    "profile": 2.0,  # bin/profileSetup.sh rewrites and deletes files
    "database": 0.2,
    "dbscript": 3.0,
    "driver": 0.1,
    "file_edit": 0.05,
    "hosts_entry": 0.05,
    "symlink": 0.05,
    "certificate": 1.0,  # a key pair; keytool for a key store
    "truststore": 1.0,  # keytool
    "load_balancer": 0.3,  # nginx -t, reload
    "sync_script": 0.2,
    "start": 1.0,
    "wait": BOOT_ESTIMATE,
    "vault": 1.0,  # keytool and the cipher
}
DEFAULT_ESTIMATE = 0.1


def estimate(step: Step) -> float:
    if step.kind == "wait" and "url" in step.inputs:
        return PROBE_ESTIMATE
    return ESTIMATES.get(step.kind, DEFAULT_ESTIMATE)


def journaled(entries: Iterable[Any]) -> dict[str, float]:
    """Step id -> seconds of its last ``done`` entry that changed something (journal
    entries of earlier runs: :class:`wizard.journal.Entry`)."""
    out: dict[str, float] = {}
    for e in entries:
        if e.event == "done" and e.outcome == "changed" and e.seconds > 0:
            out[e.step] = float(e.seconds)
    return out


@dataclass(frozen=True)
class CriticalPath:
    steps: list[str]  # the path, first step first
    seconds: float  # its weight
    weights: dict[str, float]  # every step's weight
    journaled: frozenset[str] = frozenset()  # the steps weighed by an earlier run
    ahead: dict[str, float] = field(default_factory=dict)  # step -> its heaviest chain to the end

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "steps": [
                {
                    "id": s,
                    "seconds": round(self.weights[s], 2),
                    "weight": "journaled" if s in self.journaled else "estimate",
                }
                for s in self.steps
            ],
        }

    def line(self) -> str:
        """One line for the review: the path and what it weighs."""
        how = "journaled durations" if self.journaled else "estimates"
        if self.journaled and len(self.journaled) < len(self.steps):
            how = "journaled durations and estimates"
        chain = " -> ".join(self.steps) or "(no steps)"
        return f"Critical path, about {_seconds(self.seconds)} ({how}): {chain}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def critical_path(plan: Plan, durations: Mapping[str, float] | None = None) -> CriticalPath:
    """The heaviest chain of ``plan``'s dependency graph; ``durations`` (step id ->
    seconds, e.g. :func:`journaled`) weigh the steps they name, estimates the others.
    Ties go to the step earlier in the plan."""
    durations = durations or {}
    weights = {s.id: float(durations.get(s.id, estimate(s))) for s in plan.steps}
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    children: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    for s in _topological(plan):
        deps = [d for d in s.depends_on if d in finish]
        best = max(deps, key=lambda d: finish[d], default=None)
        via[s.id] = best
        finish[s.id] = weights[s.id] + (finish[best] if best is not None else 0.0)
        for d in deps:
            children[d].append(s.id)
    ahead: dict[str, float] = {}
    for s in reversed(_topological(plan)):
        later = [ahead[c] for c in children[s.id] if c in ahead]
        ahead[s.id] = weights[s.id] + max(later, default=0.0)
    end = max(finish, key=lambda sid: finish[sid], default=None)
    path: list[str] = []
    at = end
    while at is not None:
        path.append(at)
        at = via[at]
    path.reverse()
    return CriticalPath(
        path,
        finish[end] if end is not None else 0.0,
        weights,
        frozenset(s for s in path if s in durations),
        ahead,
    )


def _topological(plan: Plan) -> list[Step]:
    """The steps, each after every step it depends on (plan order among equals); a
    dependency cycle or an unknown one is left to the executor to report."""
    steps = {s.id: s for s in plan.steps}
    seen: set[str] = set()
    out: list[Step] = []
    for first in plan.steps:
        if first.id in seen:
            continue
        seen.add(first.id)
        stack = [(first, iter(first.depends_on))]
        while stack:  # depth first, without recursion (long chains)
            step, deps = stack[-1]
            nxt = next((d for d in deps if d in steps and d not in seen), None)
            if nxt is None:
                stack.pop()
                out.append(step)
                continue
            seen.add(nxt)
            stack.append((steps[nxt], iter(steps[nxt].depends_on)))
    return out
