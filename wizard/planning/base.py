"""The planner's shared state: the context, the steps so far, and small helpers."""

from __future__ import annotations

import posixpath
from typing import Any

from wizard.answers.model import Answers
from wizard.catalog.model import Pattern
from wizard.context import Contexts, build
from wizard.plan import Step
from wizard.planning.dslayout import Layout
from wizard.planning.homefacts import Facts
from wizard.planning.layout import default_dbs, place

READY_MARKER = "WSO2 Carbon started in"


def uniq(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def abspath(home: str, path: str) -> str:
    return path if path.startswith("/") else posixpath.join(home, path)


class BuilderBase:
    def __init__(self, answers: Answers, pattern: Pattern, facts: Facts | None = None) -> None:
        self.a = answers
        self.p = pattern
        self.facts = facts
        self.cx: Contexts = build(answers, pattern, facts.server if facts else None)
        self.cx.base["dbs"] = default_dbs(pattern, self.cx.base["dbs"])
        self.steps: list[Step] = []
        self.ids: set[str] = set()
        self.node_ctx: dict[str, dict[str, Any]] = {}
        self.layouts: dict[str, Layout] = {}
        for n in self.cx.nodes:
            ctx = self.cx.for_node(n)
            home = facts.homes.get(n["name"]) if facts is not None else None
            ctx["dbs"], self.layouts[n["name"]] = place(pattern, n, ctx, home)
            self.node_ctx[n["name"]] = ctx
        self.by_node: dict[str, list[str]] = {n["name"]: [] for n in self.cx.nodes}
        self.data_steps: list[str] = []
        self.preflight: dict[str, str] = {}
        self.certs: dict[str, str] = {}
        self.lb_step: str | None = None
        self.waits: list[str] = []

    # -- helpers -------------------------------------------------------------------

    def add(
        self,
        sid: str,
        kind: str,
        host: str,
        description: str,
        inputs: dict[str, Any],
        rows: list[str],
        depends_on: list[str],
    ) -> str:
        if sid in self.ids:
            raise AssertionError(f"duplicate step id {sid}")
        self.ids.add(sid)
        self.steps.append(Step(sid, kind, host, description, inputs, uniq(rows), uniq(depends_on)))
        return sid

    @staticmethod
    def has_role(n: dict[str, Any], roles: list[str]) -> bool:
        return "all" in roles or n["role"] in roles

    def nodes_of(self, roles: list[str]) -> list[dict[str, Any]]:
        if "all" in roles:
            return list(self.cx.nodes)
        return [n for n in self.cx.nodes if n["role"] in roles]

    def where(self, what: str) -> str:
        return f"catalog {self.p.id}: {what}"

    # -- sections ------------------------------------------------------------------

    def step(self, sid: str) -> Step:
        return next(s for s in self.steps if s.id == sid)
