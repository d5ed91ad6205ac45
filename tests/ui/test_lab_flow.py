"""Pilot drives the whole wizard against a real lab, for the API Manager patterns (the
Open Banking ones: test_lab_flow_ob.py, so that the two files run side by side): prefilled answers,
an edit, test connection, test SSH, review with diffs, run to running nodes, done.
(How long the UI loop's steps take on these pages is measured in benchmarks/bench_ui.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.hostkeys import HostKeysScreen
from wizard.catalog import pattern_ids

from .labflow import on_page, runs_to_running_nodes, text_of, to_pattern

pytestmark = pytest.mark.lab


APIM = [p for p in pattern_ids() if p.startswith("apim-")]


@pytest.mark.parametrize("pattern", APIM)
async def test_wizard_runs_each_pattern_to_running_nodes(
    pattern: str, ui_lab, tmp_path: Path, settle, until
) -> None:
    await runs_to_running_nodes(pattern, ui_lab(), tmp_path, settle, until)


async def test_new_host_keys_are_confirmed_in_one_batch(
    ui_lab, tmp_path: Path, settle, until
) -> None:
    lab = ui_lab()
    pattern = "apim-active-passive"
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await to_pattern(app, pilot, pattern, settle)
        assert app.draft is not None
        for node in app.draft.data["nodes"]:  # answers without pinned keys
            node["ssh"].pop("host_key", None)
        app.draft.data["lb"]["ssh"].pop("host_key", None)
        await pilot.press("ctrl+n", "ctrl+n")
        await until(pilot, lambda: on_page(app, "hosts"), 30, "the hosts page")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, HostKeysScreen), 30, "the dialog")
        shown = text_of(app, "#keys")
        addresses = {n["address"] for n in app.draft.data["nodes"]}
        assert all(a in shown for a in addresses)  # every new key in one dialog
        assert "SHA256:" in shown
        await pilot.press("y")
        await settle(app, pilot)
        assert "Pinned" in text_of(app, "#form-status")
        pinned = app.session.known_hosts.read_text()
        assert all(h["host_key"].split()[1] in pinned for h in lab["hosts"][:2])
        await pilot.press("ctrl+t")  # pinned now: no dialog the second time
        await settle(app, pilot)
        assert not isinstance(app.screen, HostKeysScreen)
        assert "OK" in text_of(app, "#form-status")
        await pilot.press("ctrl+q")
