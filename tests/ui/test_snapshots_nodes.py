"""Snapshots (pytest-textual-snapshot, as in test_snapshots.py) of the pages added for
node counts and the remaining answers: the hosts page of ob-km-ha with its node
controls after one node was added, and the "Cluster, start and advanced" page, at 80x24
and 120x40. No lab: the answers are the pattern's example.
Update with ``pytest tests/ui/test_snapshots_nodes.py --snapshot-update``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screens.app import WizardApp
from wizard.catalog import pattern_ids

SIZES = [(80, 24), (120, 40)]


def _keys(pattern: str, nexts: int) -> list[str]:
    """From the welcome screen: New setup, the pattern, then ``nexts`` times Next."""
    return ["enter", *["down"] * pattern_ids().index(pattern), "enter", *["ctrl+n"] * nexts]


def _page(app: Any) -> str | None:
    """The form page on screen (None: another screen; the flow shows the next a moment
    after Next)."""
    from screens.form import FormScreen

    return app.screen.page.id if isinstance(app.screen, FormScreen) else None


def _app(tmp_path: Path) -> WizardApp:
    return WizardApp(lab_dir=tmp_path / "no-lab", session_dir=str(tmp_path / "sessions"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_hosts_page_with_an_added_node_snapshot(
    size: tuple[int, int], tmp_path: Path, snap_compare, settle, until
) -> None:
    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        for key in _keys("ob-km-ha", 2):
            await pilot.press(key)
            await settle(pilot.app, pilot)
        await until(pilot, lambda: _page(pilot.app) == "hosts", 30, "the hosts page")
        await settle(pilot.app, pilot)
        await pilot.press("ctrl+o")  # apim-2, focused on its address
        await settle(pilot.app, pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_advanced_page_snapshot(
    size: tuple[int, int], tmp_path: Path, snap_compare, settle, until
) -> None:
    async def go(pilot: Any) -> None:
        await settle(pilot.app, pilot)
        for key in _keys("apim-active-passive", 4):
            await pilot.press(key)
            await settle(pilot.app, pilot)
        await until(pilot, lambda: _page(pilot.app) == "advanced", 30, "the advanced page")
        await settle(pilot.app, pilot)

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=go)
