"""Snapshots of each screen at 80x24 and 120x40 (pytest-textual-snapshot). No lab: the
answers are the pattern's example, so every screen is the same from run to run.
Update with ``pytest tests/ui/test_snapshots.py --snapshot-update`` and review the SVGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screens.app import WizardApp
from screens.done import DoneScreen
from screens.hostkeys import HostKeysScreen
from wizard.connectors.hostkeys import UNKNOWN, HostKeyStatus
from wizard.questions.draft import FORM_PAGES, new_draft
from wizard.session import Session, SessionMeta

SIZES = [(80, 24), (120, 40)]
PATTERN_INDEX = 0  # apim-active-passive: nodes and a load balancer


def _keys_to(screen: str) -> list[str]:
    """Keys from the welcome screen to ``screen`` (example answers are valid: Next works)."""
    order = ["welcome", "pattern", "product", "database", "hosts", "certs", "advanced"]
    keys: list[str] = []
    for step in order[1 : order.index(screen) + 1]:
        if step == "pattern":
            keys.append("enter")
        elif step == "product":
            keys += ["down"] * PATTERN_INDEX + ["enter"]
        else:
            keys.append("ctrl+n")
    return keys


def _app(tmp_path: Path) -> WizardApp:
    return WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "sessions"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", ["welcome", "pattern", "product", "database", "hosts", "certs"])
def test_screen_snapshot(
    screen: str, size: tuple[int, int], tmp_path: Path, snap_compare, settle, until
) -> None:
    keys = _keys_to(screen)

    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot.app, pilot)
        if screen in FORM_PAGES:  # the flow shows the next page a moment after Next
            await until(pilot, lambda: _page(pilot.app) == screen, 30, f"the {screen} page")
            await settle(pilot.app, pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


def _page(app: Any) -> str | None:
    from screens.form import FormScreen

    return app.screen.page.id if isinstance(app.screen, FormScreen) else None


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_field_error_snapshot(size: tuple[int, int], tmp_path: Path, snap_compare, settle) -> None:
    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        for key in _keys_to("database"):
            await pilot.press(key)
            await settle(pilot.app, pilot)
        await pilot.press("tab", "end", "x")  # the port field: not a number
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_review_of_invalid_answers_snapshot(
    size: tuple[int, int], tmp_path: Path, snap_compare, settle
) -> None:
    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        for key in _keys_to("advanced"):
            await pilot.press(key)
            await settle(pilot.app, pilot)
        pilot.app.draft.data["nodes"][1]["address"] = "not an address!"
        await pilot.press("ctrl+n")  # review lists every problem and runs nothing
        await settle(pilot.app, pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


def _fixed_session() -> Session:
    meta = SessionMeta("20260101-120000-abcdef", "apim-active-passive", 0.0, 0.0, "done")
    return Session(Path("/var/lib/carbon-wizard/sessions/20260101-120000-abcdef"), meta)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_done_snapshot(size: tuple[int, int], tmp_path: Path, snap_compare, settle) -> None:
    draft = new_draft("apim-active-passive")

    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        pilot.app.push_screen(DoneScreen(draft, _fixed_session()))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_host_keys_dialog_snapshot(
    size: tuple[int, int], tmp_path: Path, snap_compare, settle
) -> None:
    statuses = [
        HostKeyStatus(n, f"10.0.0.{i}", 22, UNKNOWN, "ssh-ed25519", f"SHA256:{n * 8}"[:51])
        for i, n in enumerate(["active", "passive", "lb"], start=11)
    ]

    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        pilot.app.push_screen(HostKeysScreen(statuses))
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)
