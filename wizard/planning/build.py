"""The planner: a pure function from answers + pattern to a plan (see catalog/FORMAT.md).

No I/O, no clock, no randomness: the same answers give a byte-identical plan. The steps
are built in two halves: :mod:`wizard.planning.config` (hosts and data) and
:mod:`wizard.planning.run` (load balancer, start order, sync).
"""

from __future__ import annotations

from wizard.answers.model import Answers
from wizard.catalog.model import Pattern
from wizard.plan import Plan
from wizard.planning.config import ConfigSteps
from wizard.planning.homefacts import Facts
from wizard.planning.layout import ref_files
from wizard.planning.pack import add_pack
from wizard.planning.run import RunSteps
from wizard.planning.synckey import add_sync_key
from wizard.planning.vault import add_vault


class _Builder(ConfigSteps, RunSteps):
    def build(self) -> Plan:
        self.preflights()
        self.databases()
        self.certificates()
        self.node_steps()
        self.start_groups()
        self.sync()
        add_vault(self)  # after the starts (their password file), before the plan is built
        add_sync_key(self)  # the sync source's SSH key, authorised on the workers
        add_pack(self)  # product.pack: first on every node, all in the home depend on it
        return Plan(
            self.p.id,
            self.steps,
            layout={
                n: {k: p.to_dict() for k, p in lay.placements.items()}
                for n, lay in self.layouts.items()
            },
            notes={
                **({"db": list(self.facts.notes)} if self.facts and self.facts.notes else {}),
                **{n: list(lay.notes) for n, lay in self.layouts.items() if lay.notes},
            },
        )


def plan(answers: Answers, pattern: Pattern, facts: Facts | None = None) -> Plan:
    """Answers + pattern (+ what the homes and the database server hold, read by
    wizard.planning.homefacts) -> plan. Pure: no I/O. Without ``facts``, a stock pack is assumed on
    every node and a MySQL 5.7 / MariaDB 10.2+ server."""
    return _Builder(answers, pattern, facts).build()


def survey_files(answers: Answers, pattern: Pattern) -> dict[str, tuple[str, list[str]]]:
    """What to read from each node's home before planning: node -> (home, files whose
    datasource references the plan follows); carbon.xml and the datasources folder are
    always read."""
    b = _Builder(answers, pattern)
    return {
        n["name"]: (n["home"], ref_files(pattern, n, b.node_ctx[n["name"]])) for n in b.cx.nodes
    }
