"""What the exported project's action plugin does, without Ansible: load the project,
run one plan step through the wizard's own handler, verify the plan against the homes.

The export holds the plan (``carbon-wizard/plan.json``, secret tokens only) made against
the homes at export time, and the answers (references only). Each task names a step id;
:func:`run_step` runs it as the wizard's executor does: ``check``; when not satisfied and
not in check mode, ``apply`` then ``check`` again. :func:`verify` (the playbook's first
play) reads the homes and the database server again, makes the plan the wizard would run
now, and refuses to go on when it is not the exported one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.answers import Answers, parse_answers
from wizard.catalog.model import Pattern
from wizard.connectors.base import Transport
from wizard.connectors.hostkeys import HostKeyStore
from wizard.errors import EXIT_STEP_FAILED, WizardError
from wizard.executor import Outcome, RunContext, RunState
from wizard.plan import Plan, Step
from wizard.planning.homefacts import Facts, gather
from wizard.secretrefs import paths as token_paths
from wizard.secrets import redact
from wizard.session import sessions_root

DATA_DIR = "carbon-wizard"  # inside the export: answers.yaml, plan.json, export.json
START_MARK_FACT = "cw_start_mark"  # a node's log size when this run started it
PENDING_FACT = "cw_would_change"  # check mode: the steps that would change, per host


@dataclass
class Project:
    root: Path
    answers: Answers
    pattern: Pattern
    plan: Plan
    info: dict[str, Any]

    @property
    def export_id(self) -> str:
        return str(self.info["id"])

    def session_dir(self) -> Path:
        """Where the wizard CA of this export is kept (never in the export directory)."""
        return sessions_root().parent / "ansible" / self.export_id


_loaded: dict[tuple[str, float], Project] = {}


def load_project(root: str | Path) -> Project:
    """The export at ``root`` (cached per process while plan.json is unchanged)."""
    data = Path(root) / DATA_DIR
    plan_file = data / "plan.json"
    try:
        key = (str(plan_file.resolve()), plan_file.stat().st_mtime)
    except OSError as exc:
        raise WizardError(
            f"{plan_file} cannot be read: {exc.strerror}",
            fix="run the playbook of a project written by: carbon-wizard export ansible",
        ) from exc
    if key not in _loaded:
        answers, pattern = parse_answers(
            (data / "answers.yaml").read_text(encoding="utf-8"), str(data / "answers.yaml")
        )
        plan = Plan.from_dict(json.loads(plan_file.read_text(encoding="utf-8")))
        info = json.loads((data / "export.json").read_text(encoding="utf-8"))
        _loaded[key] = Project(Path(root), answers, pattern, plan, info)
    return _loaded[key]


def context(
    project: Project,
    transport: Callable[[str], Transport],
    secret: Callable[[str], str],
    *,
    check_mode: bool,
    start_marks: dict[str, int] | None = None,
) -> RunContext:
    java_home = project.answers.product.java_home
    timeout = os.environ.get("CW_START_TIMEOUT")
    return RunContext(
        check_mode=check_mode,
        session_id=project.export_id,
        transport=transport,
        secret=secret,
        answers=project.answers,
        hostkeys=HostKeyStore(project.root / "known_hosts", user_file="~/.ssh/known_hosts"),
        session_dir=str(project.session_dir()),
        java_home=str(java_home) if java_home else None,
        wait_timeout=float(timeout) if timeout else None,
        state=RunState(start_marks=dict(start_marks or {})),
    )


@dataclass
class StepReport:
    """One step's result, in the words of an Ansible task result."""

    changed: bool
    msg: str
    diff: str = ""
    notes: list[str] = field(default_factory=list)
    failed: bool = False

    def result(self, *, diff: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"changed": self.changed, "msg": self.msg}
        if self.failed:
            out["failed"] = True
        if self.notes:
            out["notes"] = self.notes
        if diff and self.diff:
            out["diff"] = {"prepared": self.diff}
        return out


def run_step(step: Step, handler: Any, ctx: RunContext) -> StepReport:
    """check; then, unless satisfied or in check mode, apply and check again."""
    try:
        before: Outcome = handler.check(step, ctx)
        if before.satisfied:
            return StepReport(False, redact(before.message or "unchanged"), notes=_notes(before))
        if ctx.check_mode:
            msg = before.message or "would change"
            return StepReport(True, redact(msg), redact(before.diff), _notes(before))
        applied: Outcome = handler.apply(step, ctx)
        after: Outcome = handler.check(step, ctx)
        if not after.satisfied:
            raise WizardError(
                f"step {step.id} made its change but the check still fails: {after.message}",
                exit_code=EXIT_STEP_FAILED,
            )
        msg = applied.message if applied and applied.message else "changed"
        return StepReport(True, redact(msg), redact(before.diff), _notes(before))
    except WizardError as exc:
        return StepReport(False, redact(exc.render()), failed=True)
    except Exception as exc:  # noqa: BLE001 - a clean failure, never a traceback
        what = f"step {step.id} failed: {type(exc).__name__}: {exc}"
        return StepReport(False, redact(what), failed=True)


def _notes(outcome: Outcome) -> list[str]:
    return [redact(n) for n in outcome.notes]


def secret_paths(plan: Plan) -> list[str]:
    return token_paths(plan.to_json())


def server_facts(project: Project, ctx: RunContext, notes: list[str]) -> Any:
    """The database server as the wizard reads it before planning (Runner._server)."""
    step = next((s for s in project.plan.steps if s.kind == "database"), None)
    if step is None:
        return None
    from wizard.steps.database import admin_connection

    try:
        return admin_connection(step, ctx).server
    except WizardError as exc:
        notes.append(
            f"the database server was not reached ({exc.what}); the plan assumes MySQL 5.7+ "
            "or MariaDB 10.2+"
        )
        return None


def verify(project: Project, ctx: RunContext, hosts: list[str]) -> tuple[list[str], list[str]]:
    """Read the homes of the nodes among ``hosts`` and the database server, plan again
    and compare with the exported plan, for the steps of those nodes and of the database
    and load balancer. Returns (notes, differences); no difference: the plan is the one
    the wizard would run against these homes now."""
    from wizard.planning.build import plan as make_plan
    from wizard.planning.build import survey_files

    wanted = survey_files(project.answers, project.pattern)
    nodes = {n: wanted[n] for n in hosts if n in wanted}
    facts = Facts()
    facts.server = server_facts(project, ctx, facts.notes)
    opened = {n: ctx.transport(n) for n in nodes}  # opened here, read side by side
    facts.homes, failed = gather(nodes, opened.__getitem__, parallelism=8)
    if failed:
        raise next(iter(failed.values()))
    now = make_plan(project.answers, project.pattern, facts)
    checked = set(nodes) | {s.host for s in now.steps if s.host not in wanted}
    mine = {s.id: s.fingerprint for s in project.plan.steps if s.host in checked}
    theirs = {s.id: s.fingerprint for s in now.steps if s.host in checked}
    diff = [f"new step {i}" for i in theirs if i not in mine]
    diff += [f"step {i} is no longer planned" for i in mine if i not in theirs]
    diff += [f"step {i} has other inputs" for i in mine if i in theirs and mine[i] != theirs[i]]
    notes = [f"{host}: {n}" for host, ns in now.notes.items() if host in checked for n in ns]
    return [redact(n) for n in notes], diff
