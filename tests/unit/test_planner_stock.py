"""The plan's file edits apply cleanly to the stock API-M 2.6.0 files, and only once.

Runs the real edit engine (wizard.edits) on the files in ../shared/wso2-conf; skipped
when that folder is absent (a user's clone).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids
from wizard.edits import apply as edits_apply
from wizard.edits import model as edits_model
from wizard.planning.build import plan
from wizard.secretrefs import substitute

STOCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"

MINE = {"apim-all-in-one", "apim-active-passive"}
# references a stock 2.6.0 file already points where the plan does (set, unchanged)
STOCK_REFS = {
    "/APIManager/DataSourceName",
    "/c:Server/c:JDBCPersistenceManager/c:DataSource/c:Name",
}
FAKE = {
    "db.password": "db-pw-123",
    "admin.password": "admin-pw-123",
    "keystore.password": "ks-pw-123",
    "keystore.key_password": "ks-pw-123",
}


def _plan(pattern_id: str, keystore: bool):
    data = yaml.safe_load(example_yaml(pattern_id))
    data["product"]["home"] = "/HOME"
    for node in data["nodes"]:
        node.pop("home", None)
    data["nodes"][0]["hostname"] = "apim.example.org"
    if keystore:
        data["keystore"] = {"replace": True, "password": "env:KS"}
    answers, pattern = parse_answers(yaml.safe_dump(data))
    return plan(answers, pattern)


def _resolve_value(value):
    if isinstance(value, str):
        return substitute(value, FAKE.__getitem__)
    if isinstance(value, dict):
        return {k: _resolve_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_value(v) for v in value]
    return value


def _stock(path: str) -> bytes:
    return (STOCK / path.removeprefix("/HOME/")).read_bytes()


@pytest.mark.parametrize("keystore", [False, True], ids=["stock-keystore", "new-keystore"])
@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_file_edits_apply_to_stock_files_and_are_idempotent(pattern_id, keystore):
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    p = _plan(pattern_id, keystore)
    # files of other packs (e.g. Open Banking's finance/*) are not in the API-M stock
    steps = [
        s
        for s in p.steps
        if s.kind == "file_edit"
        and not s.inputs.get("glob")
        and (STOCK / s.inputs.get("create_from", s.inputs["path"]).removeprefix("/HOME/")).is_file()
    ]
    assert steps
    applied = 0
    for step in steps:
        source = step.inputs.get("create_from", step.inputs["path"])
        before = _stock(source)
        edits = [
            edits_model.Edit.from_mapping({**e, "value": _resolve_value(e.get("value"))})
            for e in step.inputs["edits"]
        ]
        result = edits_apply.apply_edits(step.inputs["path"], before, edits, host=step.host)
        in_place = all(e.op in ("verify", "expect") or e.locator in STOCK_REFS for e in edits)
        assert result.changed != in_place, f"{step.id}: changed={result.changed}"
        again = edits_apply.apply_edits(step.inputs["path"], result.content, edits)
        assert not again.changed, f"{step.id} is not idempotent"
        applied += 1
        text = result.content.decode("latin-1")
        if step.inputs["file"].endswith("master-datasources.xml"):
            assert "useSSL=false" in text and "&amp;useSSL" in text
            assert text.count("<name>WSO2UM_DB</name>") == 1
        if step.inputs["file"].endswith("registry.xml"):
            assert b"\r\n" in result.content  # CRLF kept
            live = re.sub(r"<!--.*?-->", "", text, flags=re.S)
            ids = set(re.findall(r"<remoteInstance[^>]*>\s*<id>([^<]+)</id>", live))
            mounted = set(re.findall(r"<instanceId>([^<]+)</instanceId>", live))
            assert ids and mounted <= ids, f"{step.id}: mounts {mounted} vs instances {ids}"
        if pattern_id in MINE and step.inputs["file"].endswith("carbon.xml"):
            assert "<HostName>apim.example.org</HostName>" in text or step.host != "node"
    assert applied == len(steps)


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_hosts_entries_of_the_example_answers_apply(pattern_id):
    """The examples name host names (LB, DB alias): every hosts_entry step writes its
    managed block into an admin's hosts file, keeps the other lines, and only once."""
    data = yaml.safe_load(example_yaml(pattern_id))
    data["db"]["host_alias"] = "mysql.example.org"
    data["db"]["ip"] = "10.0.0.9"
    for node in data["nodes"]:
        node["hostname"] = f"{node['name']}.example.org"
    answers, pattern = parse_answers(yaml.safe_dump(data))
    steps = [s for s in plan(answers, pattern).steps if s.kind == "hosts_entry"]
    assert steps, f"{pattern_id}: no hosts_entry step with host names in the answers"
    admin = b"127.0.0.1\tlocalhost\n# admin's own line\n10.1.1.1 legacy.example.org\n"
    for step in steps:
        edits = [edits_model.Edit.from_mapping(e) for e in step.inputs["edits"]]
        result = edits_apply.apply_edits(step.inputs["path"], admin, edits, host=step.host)
        text = result.content.decode()
        assert text.startswith(admin.decode()), f"{step.id} changed the admin's lines"
        assert f"# BEGIN carbon-wizard {pattern_id}\n" in text
        assert f"# END carbon-wizard {pattern_id}\n" in text
        assert not edits_apply.apply_edits(step.inputs["path"], result.content, edits).changed
