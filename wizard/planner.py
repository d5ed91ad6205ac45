"""The planner: a pure function from answers + pattern to a plan (see catalog/FORMAT.md).

No I/O, no clock, no randomness: the same answers give a byte-identical plan. The steps
are built in two halves: :mod:`wizard.planner_config` (hosts and data) and
:mod:`wizard.planner_run` (load balancer, start order, sync).
"""

from __future__ import annotations

from wizard.answers.model import Answers
from wizard.catalog.model import Pattern
from wizard.plan import Plan
from wizard.planner_config import ConfigSteps
from wizard.planner_run import RunSteps


class _Builder(ConfigSteps, RunSteps):
    def build(self) -> Plan:
        self.preflights()
        self.databases()
        self.certificates()
        self.node_steps()
        self.start_groups()
        self.sync()
        return Plan(self.p.id, self.steps)


def plan(answers: Answers, pattern: Pattern) -> Plan:
    """Answers + pattern -> plan. Pure: no I/O."""
    return _Builder(answers, pattern).build()
