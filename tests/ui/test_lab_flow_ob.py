"""Pilot drives the whole wizard against a real lab, for the Open Banking patterns (see
test_lab_flow.py): prefilled answers, an edit, test connection, test SSH, review with
diffs, run to running nodes, done."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.catalog import pattern_ids

from .labflow import runs_to_running_nodes

pytestmark = pytest.mark.lab

OB = [p for p in pattern_ids() if not p.startswith("apim-")]


@pytest.mark.parametrize("pattern", OB)
async def test_wizard_runs_each_pattern_to_running_nodes(
    pattern: str, ui_lab, tmp_path: Path, settle, until
) -> None:
    await runs_to_running_nodes(pattern, ui_lab(), tmp_path, settle, until)
