"""`carbon-wizard export ansible` on a lab of its own (see test_ansible_export.py): the
same check for apim-all-in-one, `--limit` and `--tags` running a subset, and a home changed
since the export stopping the run before any change."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from .ansible_site import (
    Site,
    need_playbook,
    playbook_does_what_apply_does,
    recap,
    run_ansible,
    run_wizard,
)

pytestmark = pytest.mark.lab

LAB_HOSTS = 4


def test_exported_playbook_does_what_apply_does_all_in_one(
    own_lab: dict[str, Any], tmp_path: Path, control_dir: Path
) -> None:
    playbook_does_what_apply_does(own_lab, tmp_path, control_dir, "apim-all-in-one")


def test_limit_and_tags_run_a_subset(
    own_lab: dict[str, Any], tmp_path: Path, control_dir: Path
) -> None:
    """`--limit passive --tags files` edits only the passive node's files."""
    need_playbook()
    pattern = "apim-active-passive"
    site = Site(own_lab, pattern, "anslim_", tmp_path)
    try:
        site.fresh()
        project = tmp_path / "project"
        exported = run_wizard(
            "export", "ansible", "--answers", str(site.answers), "-o", str(project), "--json"
        )
        assert exported.returncode == 0, exported.stderr
        assert json.loads(exported.stdout)["pattern"] == pattern
        stock = site.files()
        run = run_ansible(project, control_dir, "--limit", "passive", "--tags", "files")
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr
        after = site.files()
        changed = {k.split(":", 1)[0] for k in after if after[k] != stock.get(k)}
        assert changed == {"passive"}, changed
        assert set(recap(run.stdout)) == {"passive"}
    finally:
        site.stop_nodes()
        site.drop_databases()


AM_DS = re.compile(r"[ \t]*<datasource>\s*<name>WSO2AM_DB</name>.*?</datasource>\n", re.S)


def _move_am_datasource(home: Path) -> Path:
    """What an admin may have done: WSO2AM_DB moved out of master-datasources.xml into a
    file of its own (Carbon loads every *-datasources.xml)."""
    folder = home / "repository/conf/datasources"
    master = folder / "master-datasources.xml"
    text = master.read_text()
    block = AM_DS.search(text)
    assert block is not None
    master.write_text(text.replace(block.group(0), ""))
    moved = folder / "am-datasources.xml"
    moved.write_text(
        "<datasources-configuration>\n    <datasources>\n"
        + block.group(0)
        + "    </datasources>\n</datasources-configuration>\n"
    )
    st = master.stat()
    os.chown(moved, st.st_uid, st.st_gid)
    return moved


def test_a_home_changed_since_the_export_stops_the_run_before_any_change(
    own_lab: dict[str, Any], tmp_path: Path, control_dir: Path
) -> None:
    need_playbook()
    site = Site(own_lab, "apim-all-in-one", "ansver_", tmp_path)
    try:
        site.fresh()
        project = tmp_path / "project"
        args = ["export", "ansible", "--answers", str(site.answers), "-o", str(project)]
        exported = run_wizard(*args)
        assert exported.returncode == 0, exported.stderr
        moved = _move_am_datasource(Path(site.nodes[0]["home"]))
        before = site.files()
        run = run_ansible(project, control_dir, "--tags", "files")
        assert run.returncode != 0
        assert "Export again" in run.stdout and "am-datasources.xml" in run.stdout, run.stdout
        assert site.files() == before  # stopped in the first play
        # exported again against the home as it is now: the datasource is edited where it is
        again = run_wizard(*args, "--force")
        assert again.returncode == 0, again.stderr
        run = run_ansible(project, control_dir, "--tags", "files")
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr
        assert b"ansver_apimgtdb" in moved.read_bytes()
    finally:
        site.stop_nodes()
        site.drop_databases()
