"""The types of the application layer (:mod:`wizard.flow.run`) that the front ends and
the flow's parts (status, rollback, preflight) share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from wizard.answers import Answers
from wizard.catalog.model import Pattern
from wizard.connectors.hostkeys import HostKeyStatus
from wizard.critical import CriticalPath
from wizard.errors import EXIT_STEP_FAILED, Where, WizardError
from wizard.executor import Event, Summary
from wizard.plan import Plan, Step
from wizard.secrets import Prompter

# Answers, plan and meta saved together (a front end's autosave, a review) are one group
# at a time, so they always belong together; a single save is safe alone.
SESSION_WRITES = threading.RLock()
REVIEW_KINDS = ("file_edit", "hosts_entry")
EndState = Literal["done", "failed", "interrupted", "declined", "checked"]


@dataclass
class Drift:
    """A file the session wrote that changed on its host since (diff masked)."""

    host: str
    path: str
    diff: str


class DriftDeclined(WizardError):
    """Files changed on the hosts since the session wrote them, and they are not to be
    overwritten: nothing was written."""


@dataclass
class Hooks:
    """How a front end takes part. ``None`` means: nobody to ask (headless)."""

    confirm_keys: Callable[[list[HostKeyStatus]], bool] | None = None
    confirm_drift: Callable[[list[Drift]], bool] | None = None
    confirm_apply: Callable[[Plan, set[str]], bool] | None = None
    keep_waiting: Callable[[Step, float, str], bool] | None = None
    ask_secret: Prompter | None = None
    on_event: Callable[[Event], None] | None = None
    on_note: Callable[[str], None] | None = None


@dataclass
class Prepared:
    answers: Answers
    pattern: Pattern
    plan: Plan  # the offline plan; the run re-plans against the homes


@dataclass
class Review:
    plan: Plan
    text: str
    diffs: list[tuple[str, str, str]] = field(default_factory=list)  # host, step id, diff
    notes: list[str] = field(default_factory=list)
    summary: Summary | None = None
    # the chain of steps the run cannot end before (wizard/critical.py); its line() is in
    # ``text`` too
    critical: CriticalPath | None = None


@dataclass
class RunResult:
    summary: Summary
    state: EndState
    plan: Plan

    def failure(self) -> WizardError | None:
        """The first failed step as one error (None when nothing failed)."""
        return failure(self.summary)


def failure(summary: Summary) -> WizardError | None:
    if not summary.failed:
        return None
    first = summary.errors[0] if summary.errors else None
    return WizardError(
        f"{summary.failed} step(s) failed" + (f": {first.what}" if first else ""),
        first.where if first else Where(),
        first.fix if first and first.fix else "fix the cause and resume",
        EXIT_STEP_FAILED,
    )
