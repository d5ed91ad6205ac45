"""Fixtures shared by every test folder.

- ``ui_lab``: ``make()`` gives the 4-host lab of the UI and fault tests (one per session,
  built on first use), its product homes back to stock and its answers files naming
  databases of the test's own.
- ``settle`` and ``until``: Pilot helpers that wait for a condition, never for a time.

When the lab cannot start, the tests skip with the reason, or fail when ``CI=true``.
"""

from __future__ import annotations

import copy
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab could not start: {reason}")
    pytest.skip(f"the lab could not start: {reason}")


@pytest.fixture(scope="session")
def _session_ui_lab() -> Iterator[dict[str, Any]]:
    """One 4-host lab (0.5 s fake boot) under /tmp (0755) for the UI and fault tests."""
    from wizard.lab import labctl

    d = Path(tempfile.mkdtemp(prefix="cw-ui-lab-", dir="/tmp"))
    d.chmod(0o755)
    try:
        lab = labctl.up(d, 4, boot_delay=0.5)
    except Exception as exc:  # noqa: BLE001 - report why, then skip (or fail in CI)
        shutil.rmtree(d, ignore_errors=True)
        _unavailable(f"{type(exc).__name__}: {exc}")
        raise
    try:
        yield lab
    finally:
        labctl.down(d)


_DB_PREFIXES = itertools.count(1)


def _own_answers(lab: dict[str, Any], prefix: str) -> None:
    """Rewrite the lab's answers files (what the wizard prefills from) with databases
    named ``<prefix><name>``: a test's databases are its own."""
    from wizard.lab.answers import answers_for_lab

    for pattern, path in lab["answers"].items():
        Path(path).write_text(answers_for_lab(lab, pattern, db_prefix=prefix))


def _stop_leftovers(lab: dict[str, Any]) -> None:
    """Stop what still runs from a product home: a node (or its start script) of a run
    that an earlier test cut short, with no pid file to find it by."""
    from wizard.lab import procs

    homes = {h["home"] for h in lab.get("homes") or []} | {h["home"] for h in lab["hosts"]}
    needles = [f"{home}/".encode() for home in homes]
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if any(n in command for n in needles):
            found.append(int(entry))
    procs.stop(found)


@pytest.fixture
def ui_lab(_session_ui_lab: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """``make()``: the shared lab, nothing left running from its homes, every product
    home back to a fresh pack (empty LB and hosts files) and answers with this test's own
    database names."""
    from wizard.lab import labctl

    def make() -> dict[str, Any]:
        lab = _session_ui_lab
        _stop_leftovers(lab)
        labctl.reset_homes(Path(lab["dir"]))
        _own_answers(lab, f"t{next(_DB_PREFIXES)}_")
        return copy.deepcopy(lab)

    return make


async def _settle(app: Any, pilot: Any) -> None:
    """Messages landed, every worker but the flow done and, on a form, every field
    mounted (long pages come in parts; a loaded machine is slower)."""
    from screens.form import FormScreen

    await pilot.pause()
    busy = [w for w in app.workers if w.group != "flow"]
    if busy:
        await app.workers.wait_for_complete(busy)
    await _until(
        pilot,
        lambda: not isinstance(app.screen, FormScreen) or app.screen.all_mounted(),
        30,
        "the form's fields",
    )
    await pilot.pause()


def _holds(predicate: Callable[[], bool]) -> bool:
    """The predicate's value; a widget it queries that is not mounted yet is a no."""
    from textual.css.query import NoMatches

    try:
        return bool(predicate())
    except NoMatches:
        return False


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not _holds(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.05)


@pytest.fixture
def settle() -> Callable[..., Any]:
    """``await settle(app, pilot)``: messages landed, workers (but the flow) done, and a
    form's fields all mounted."""
    return _settle


@pytest.fixture
def until() -> Callable[..., Any]:
    """``await until(pilot, predicate, timeout, what)``: poll the UI until true (the
    timeout only ends a wait that would never end: a freeze of seconds, not a slow step)."""
    return _until
