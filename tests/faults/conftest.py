"""The fault suite: one summary line per fault family at the end of the session.

A test joins a family with ``record_property("fault_family", NAME)`` (the ``family``
fixture below does it for the tests in this folder; tests elsewhere, such as
tests/integration/test_faults_db.py, call ``record_property`` themselves). A test that
checks many generated cases also records ``record_property("fault_cases", N)``.

The summary reads the reports that pytest keeps for its terminal summary, so it covers
families from any folder of the run:

    faults: bad answers (generated): 1 test, 500 cases; 1 passed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

FAMILY = "fault_family"
CASES = "fault_cases"


@pytest.fixture
def family(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """``family("name")``: count this test in the fault family ``name``."""

    def join(name: str) -> None:
        record_property(FAMILY, name)

    return join


def _props(report: Any) -> dict[str, Any]:
    return dict(getattr(report, "user_properties", ()) or ())


def family_counts(reports: list[Any]) -> dict[str, dict[str, int]]:
    """family -> tried / passed / failed / skipped tests and the generated cases they ran."""
    out: dict[str, dict[str, int]] = {}
    for rep in reports:
        if getattr(rep, "when", None) != "call":
            continue
        props = _props(rep)
        name = props.get(FAMILY)
        if not name:
            continue
        c = out.setdefault(name, {"tried": 0, "passed": 0, "failed": 0, "skipped": 0, "cases": 0})
        c["tried"] += 1
        outcome = rep.outcome if rep.outcome in ("passed", "failed", "skipped") else "failed"
        if hasattr(rep, "wasxfail"):
            outcome = "skipped" if rep.outcome == "skipped" else "failed"  # xfail / xpass
        c[outcome] += 1
        c["cases"] += int(props.get(CASES, 0) or 0)
    return out


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for rs in terminalreporter.stats.values() for r in rs if hasattr(r, "when")]
    counts = family_counts(reports)
    if not counts:
        return
    terminalreporter.section("fault families")
    for name in sorted(counts):
        c = counts[name]
        tests = f"{c['tried']} test{'s' if c['tried'] != 1 else ''}"
        cases = f", {c['cases']} cases" if c["cases"] else ""
        line = f"faults: {name}: {tests}{cases} tried; {c['passed']} passed"
        if c["failed"]:
            line += f", {c['failed']} FAILED"
        if c["skipped"]:
            line += f", {c['skipped']} skipped/xfail"
        terminalreporter.write_line(line)
