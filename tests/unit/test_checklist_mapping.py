"""Every CHECKLIST.md row of every pattern maps to a plan step or a documented entry.

CHECKLIST.md (../shared/reference, skipped when absent) lists each admin action of the
guides as a row (AIO-…, AP-…, DIST-…, OBA-…, OBK-…). Each pattern is planned with its
example answers, every optional feature switched on (new keystore, host names, DB alias,
pattern options); a row is covered when a plan step carries it, or — for inputs,
ambiguities and the few documented gaps — when the pattern's ``rows_covered_elsewhere``
explains it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import load_pattern, pattern_ids
from wizard.planning.build import plan

CHECKLIST = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "CHECKLIST.md"

# Work rows (databases, edits, certificates, load balancer, start) that no plan step
# carries yet; each is explained in the pattern's rows_covered_elsewhere. Remove an
# entry when a step implements it (test_known_gaps_are_still_gaps says so).
KNOWN_GAPS = {
    "DIST-E25": "by decision DIST-A02 roles are split with -Dprofile; jaggery apps stay",
}

# Optional features switched on so that every conditional step appears in the plan.
OPTIONS = {
    "ob-km-ha": {
        "internal_proxies": r"10\.\d+\.\d+\.\d+",
        "km_current_endpoint": "localhost:9446",
    },
}

_SECTION_RE = re.compile(r"^## \d+\. `([a-z0-9-]+)` \(([A-Z]+)\)", re.M)
_RANGE_SEP = r"(?:…|\.\.\.?)"


def checklist_text() -> str:
    if not CHECKLIST.is_file():
        pytest.skip("../shared/reference/CHECKLIST.md is not available")
    return CHECKLIST.read_text(encoding="utf-8")


def row_ids(prefix: str, text: str) -> set[str]:
    """Row IDs of ``prefix`` in ``text``; ranges such as ``AP-E01…E13`` are expanded."""
    pat = re.compile(
        rf"\b{prefix}-([A-Z])(\d{{2}})(?:\s*{_RANGE_SEP}\s*(?:{prefix}-)?([A-Z])?(\d{{2}}))?"
    )
    out: set[str] = set()
    for m in pat.finditer(text):
        kind, first = m.group(1), int(m.group(2))
        last = int(m.group(4)) if m.group(4) else first
        if m.group(3) and m.group(3) != kind:
            raise AssertionError(f"range {m.group(0)!r} mixes row kinds")
        out.update(f"{prefix}-{kind}{i:02d}" for i in range(first, last + 1))
    return out


def parse_sections(text: str) -> dict[str, tuple[str, set[str]]]:
    """pattern id -> (row prefix, row IDs of its own section)."""
    heads = list(_SECTION_RE.finditer(text))
    out: dict[str, tuple[str, set[str]]] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        nxt = text.find("\n## ", m.end())
        if nxt != -1:
            end = min(end, nxt)
        pattern_id, prefix = m.group(1), m.group(2)
        out[pattern_id] = (prefix, row_ids(prefix, text[m.start() : end]))
    return out


@cache
def sections() -> dict[str, tuple[str, set[str]]]:
    return parse_sections(checklist_text())


def full_answers(pattern_id: str) -> str:
    data = yaml.safe_load(example_yaml(pattern_id))
    data["keystore"] = {"replace": True, "password": "env:KS_PASSWORD"}
    data["truststore"] = {"password": "env:TS_PASSWORD"}
    data["db"]["host_alias"] = "carbondb.example.com"
    data["db"]["ip"] = "192.0.2.10"
    for node in data["nodes"]:
        node["hostname"] = f"{node['name']}.example.com"
    data.setdefault("options", {}).update(OPTIONS.get(pattern_id, {}))
    return yaml.safe_dump(data, sort_keys=False)


@cache
def planned_rows(pattern_id: str) -> frozenset[str]:
    answers, pattern = parse_answers(full_answers(pattern_id))
    return frozenset(plan(answers, pattern).rows())


def missing_rows(rows: set[str], planned: set[str], documented: set[str]) -> list[str]:
    return sorted(rows - planned - documented)


def _pattern_ids_in_checklist() -> list[str]:
    return "apim-all-in-one apim-active-passive apim-distributed ob-apim-cluster ob-km-ha".split()


def test_checklist_sections_and_ranges_are_parsed():
    secs = sections()
    assert list(secs) == _pattern_ids_in_checklist()
    assert {pid: prefix for pid, (prefix, _) in secs.items()} == {
        "apim-all-in-one": "AIO",
        "apim-active-passive": "AP",
        "apim-distributed": "DIST",
        "ob-apim-cluster": "OBA",
        "ob-km-ha": "OBK",
    }
    ap = secs["apim-active-passive"][1]
    # AP-E01…E13 and AP-D01…D05 exist only as ranges in the text
    assert {f"AP-E{i:02d}" for i in range(1, 29)} <= ap
    assert {f"AP-D{i:02d}" for i in range(1, 6)} <= ap
    assert {f"DIST-D{i:02d}" for i in range(1, 7)} <= secs["apim-distributed"][1]
    # a section holds only its own rows: references to AIO rows stay out of DIST
    assert all(r.startswith("DIST-") for r in secs["apim-distributed"][1])
    obk = secs["ob-km-ha"][1]
    assert {"OBK-I14", "OBK-E35", "OBK-L04", "OBK-S07", "OBK-A13", "OBK-C02"} <= obk
    for _, (prefix, rows) in secs.items():
        kinds = {r.removeprefix(prefix + "-")[0] for r in rows}
        assert {"I", "D", "E", "S", "A"} <= kinds, prefix


def test_row_ranges_expand_and_refuse_mixed_kinds():
    assert row_ids("AP", "AP-E01…E03, AP-L14") == {"AP-E01", "AP-E02", "AP-E03", "AP-L14"}
    assert row_ids("AP", "see AIO-E01…E13") == set()
    with pytest.raises(AssertionError):
        row_ids("AP", "AP-E01…L03")


@pytest.mark.parametrize("pattern_id", _pattern_ids_in_checklist())
def test_every_checklist_row_maps_to_a_step_or_a_documented_entry(pattern_id):
    _, rows = sections()[pattern_id]
    assert pattern_id in pattern_ids(), f"no catalog file for {pattern_id}"
    documented = set(load_pattern(pattern_id).rows_covered_elsewhere)
    missing = missing_rows(rows, set(planned_rows(pattern_id)), documented)
    assert not missing, (
        f"{pattern_id}: {len(missing)} CHECKLIST row(s) map to no plan step and no "
        f"rows_covered_elsewhere entry: {', '.join(missing)}"
    )


@pytest.mark.parametrize("pattern_id", _pattern_ids_in_checklist())
def test_catalog_names_only_rows_of_its_own_section(pattern_id):
    """A typo (DIST-E52) or a row of another section would hide a missing mapping."""
    _, rows = sections()[pattern_id]
    pattern = load_pattern(pattern_id)
    named = pattern.all_rows() | set(pattern.rows_covered_elsewhere) | planned_rows(pattern_id)
    unknown = sorted(named - rows)
    assert not unknown, f"{pattern_id} names rows that CHECKLIST.md does not have: {unknown}"


@pytest.mark.parametrize("pattern_id", _pattern_ids_in_checklist())
def test_work_rows_are_plan_steps_not_just_notes(pattern_id):
    """D/E/C/L/S rows are actions: a plan step must carry them (inputs I and ambiguities
    A may be answered by an entry of rows_covered_elsewhere)."""
    prefix, rows = sections()[pattern_id]
    work = {r for r in rows if r.removeprefix(prefix + "-")[0] in "DECLS"}
    not_planned = sorted(work - planned_rows(pattern_id) - set(KNOWN_GAPS))
    assert not not_planned, (
        f"{pattern_id}: these action rows are only documented, no plan step does them: "
        f"{', '.join(not_planned)}"
    )
    pattern = load_pattern(pattern_id)
    for row in set(KNOWN_GAPS) & rows:
        assert row in pattern.rows_covered_elsewhere, f"{row} is a gap but not explained"


def test_known_gaps_are_still_gaps():
    for row, why in KNOWN_GAPS.items():
        pattern_id = next(
            pid for pid, (prefix, _) in sections().items() if row.startswith(prefix + "-")
        )
        assert row not in planned_rows(pattern_id), (
            f"{row} is now done by a plan step; remove it from KNOWN_GAPS ({why}) and "
            f"from rows_covered_elsewhere of {pattern_id}"
        )


def test_a_dropped_mapping_is_reported_by_row_id():
    """The check itself fails, naming rows, when the load balancer step is left out."""
    _, rows = sections()["ob-apim-cluster"]
    pattern = load_pattern("ob-apim-cluster")
    without_lb = set(planned_rows("ob-apim-cluster")) - set(pattern.loadbalancer.rows)
    missing = missing_rows(rows, without_lb, set(pattern.rows_covered_elsewhere))
    assert missing == sorted(pattern.loadbalancer.rows)
    assert {f"OBA-L{i:02d}" for i in range(1, 8)} <= set(missing)
