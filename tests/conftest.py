"""Fixtures shared by every test folder.

- ``ui_lab``: ``make()`` starts a 4-host lab of the test's own.
- ``settle`` and ``until``: Pilot helpers that wait for a condition, never for a time.

When the lab cannot start, the tests skip with the reason, or fail when ``CI=true``.
"""

from __future__ import annotations

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


@pytest.fixture
def ui_lab() -> Iterator[Callable[[], dict[str, Any]]]:
    """``make()`` starts a 4-host lab under /tmp (0755); every lab made is torn down."""
    from wizard.lab import labctl

    made: list[Path] = []

    def make() -> dict[str, Any]:
        d = Path(tempfile.mkdtemp(prefix="cw-ui-lab-", dir="/tmp"))
        d.chmod(0o755)
        made.append(d)
        try:
            return labctl.up(d, 4, boot_delay=0.5)
        except Exception as exc:  # noqa: BLE001 - report why, then skip (or fail in CI)
            shutil.rmtree(d, ignore_errors=True)
            made.remove(d)
            _unavailable(f"{type(exc).__name__}: {exc}")
            raise

    yield make
    for d in made:
        labctl.down(d)


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


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
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
