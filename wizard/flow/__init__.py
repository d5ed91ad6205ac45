"""The application layer both front ends call (see :mod:`wizard.flow.run`), and the
types they see: screens import this, the models and the questions, never a connector,
a step handler or the runner (tests/unit/test_layering.py)."""

from wizard.connectors.hostkeys import HostKeyStatus
from wizard.executor import Event, Summary
from wizard.flow.checks import check_database, check_hosts
from wizard.flow.model import (
    REVIEW_KINDS,
    SESSION_WRITES,
    Drift,
    DriftDeclined,
    Hooks,
    Prepared,
    Review,
    RunResult,
    failure,
)
from wizard.flow.run import Flow
from wizard.flow.status import Status
from wizard.runner import unknown_keys_text

__all__ = [
    "REVIEW_KINDS",
    "SESSION_WRITES",
    "Drift",
    "DriftDeclined",
    "Event",
    "Flow",
    "Hooks",
    "HostKeyStatus",
    "Prepared",
    "Review",
    "RunResult",
    "Status",
    "Summary",
    "check_database",
    "check_hosts",
    "failure",
    "unknown_keys_text",
]
