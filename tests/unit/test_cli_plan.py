"""carbon-wizard patterns / answers schema|example / plan."""

from __future__ import annotations

import json

import pytest

from wizard.catalog import load_pattern, pattern_ids
from wizard.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_patterns_lists_every_pattern_with_roles_and_counts(capsys):
    code, out, _ = run(capsys, "patterns")
    assert code == 0
    for pid in pattern_ids():
        line = next(ln for ln in out.splitlines() if ln.startswith(pid + " "))
        assert load_pattern(pid).description in line
        assert "nodes" in line
    assert "active x1, passive x1, lb x1" in out
    code, out, _ = run(capsys, "patterns", "--json")
    data = json.loads(out)
    assert {p["id"] for p in data} == set(pattern_ids())


def test_answers_schema_is_json_schema(capsys):
    code, out, _ = run(capsys, "answers", "schema")
    schema = json.loads(out)
    assert code == 0
    assert {"pattern", "db", "nodes", "admin"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"pattern", "product", "db", "nodes", "admin"}


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_example_answers_plan(capsys, tmp_path, pattern_id):
    code, out, _ = run(capsys, "answers", "example", pattern_id)
    assert code == 0
    f = tmp_path / "answers.yaml"
    f.write_text(out)
    code, out, err = run(capsys, "plan", "--answers", str(f), "--json", "--offline")
    assert code == 0, err
    data = json.loads(out)
    assert data["pattern"] == pattern_id
    step = data["steps"][0]
    assert list(step) == [
        "id",
        "kind",
        "host",
        "description",
        "depends_on",
        "fingerprint",
        "rows",
        "inputs",
    ]
    assert err == ""


def test_plan_text_is_grouped_by_host_offline(capsys, tmp_path):
    f = tmp_path / "a.yaml"
    code, out, _ = run(capsys, "answers", "example", "apim-active-passive")
    f.write_text(out)
    code, out, err = run(capsys, "plan", "--answers", str(f), "--offline")
    assert code == 0 and err == ""
    assert "Checked on the hosts" not in out
    headers = [ln for ln in out.splitlines() if ln.startswith("[")]
    assert headers == ["[active]", "[passive]", "[db]", "[lb]"]
    assert "set /c:Server/c:Ports/c:Offset = 1" in out


def test_plan_bad_answers_exit_2_without_traceback(capsys, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("pattern: apim-all-in-one\ndb:\n  host: db1\n  password: letmein99\n")
    code, out, err = run(capsys, "plan", "--answers", str(f))
    assert code == 2
    assert "Traceback" not in err
    assert "letmein99" not in err
    assert f"error: {f}: " in err
    assert "line 4, db.password: a literal secret" in err
    # a missing field points at its section
    assert "line 2, db.admin_password: Field required; fix: add this field" in err


def test_unknown_pattern_and_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "answers", "example", "apim-huge")
    assert code == 2 and "apim-all-in-one" in err
    code, _, err = run(capsys, "plan", "--answers", str(tmp_path / "none.yaml"))
    assert code == 2 and "cannot read the answers file" in err
