"""The catalog's XML locators hold against the stock API-M 2.6.0 files.

For every XML edit of every pattern (rendered with its example answers, every option on)
whose file is in ../shared/wso2-conf/apim-2.6.0 (skipped when absent), the locator is
evaluated with lxml and the namespace map of docs/architecture.md:

- ``set``/``attr``/``upsert``/``repl``/``verify`` find exactly one element (``verify``:
  with the expected text);
- ``ins``: the parent is one element, the target is not live but sits in a comment of
  the parent (``<!--HostName>…</HostName-->``);
- ``add``: the parent is one element, ``match`` finds nothing yet, ``after`` finds a
  sibling (in the stock file or added by an earlier edit of the same file).

Then the per-row facts of CHECKLIST.md's edit tables ("✓ absent", "✓ commented",
"✓ false", "was …", …) are checked against the same files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids, values
from wizard.edits import NSMAP, Edit, apply_edits
from wizard.edits.apply import _one_by_one as one_by_one
from wizard.edits.xmlfile import XmlDoc
from wizard.planning.base import BuilderBase
from wizard.planning.build import plan
from wizard.secretrefs import substitute

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
STOCK = SHARED / "wso2-conf" / "apim-2.6.0"
CHECKLIST = SHARED / "reference" / "CHECKLIST.md"
XML_OPS = {"set", "attr", "ins", "upsert", "add", "repl", "verify", "expect"}
# references a stock 2.6.0 file already points where the plan does (set, unchanged)
STOCK_REFS = {
    "/APIManager/DataSourceName",
    "/c:Server/c:JDBCPersistenceManager/c:DataSource/c:Name",
}


def in_place_on_stock(edits: list[Edit]) -> bool:
    """Edits that only observe (verify, expect) or set a reference stock already has."""
    return all(e.op in ("verify", "expect") or e.locator in STOCK_REFS for e in edits)


FIELDS = ("op", "locator", "value", "attr", "parent", "match", "after")
OPTIONS = {
    "ob-km-ha": {"internal_proxies": r"10\.\d+\.\d+\.\d+", "km_current_endpoint": "localhost:9446"},
}
# the 16 OAuth URLs of OBK-E16 (CHECKLIST.md table under section 5)
OAUTH_16 = (
    "OAuth1RequestTokenUrl OAuth1AuthorizeUrl OAuth1AccessTokenUrl OAuth2AuthzEPUrl "
    "OAuth2TokenEPUrl OAuth2RevokeEPUrl OAuth2IntrospectEPUrl OAuth2UserInfoEPUrl "
    "OIDCCheckSessionEPUrl OIDCLogoutEPUrl OAuth2ConsentPage OAuth2ErrorPage OIDCConsentPage "
    "OIDCLogoutConsentPage OIDCLogoutPage OIDCWebFingerEPUrl"
).split()


@pytest.fixture(autouse=True)
def _needs_stock():
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")


@dataclass(frozen=True)
class Item:
    pattern: str
    node: str
    index: int
    rows: tuple[str, ...]
    file: str  # stock file the edit is evaluated against (create_from for new files)
    target: str  # the file the edit writes
    e: dict[str, Any]
    optional: bool = False  # "set if live": no match is reported, not an error
    exists: bool | None = None  # a datasource edit: the planner found it in the (stock) home

    def where(self) -> str:
        return f"{self.pattern} edit {self.index} on {self.node} ({self.target}: {self.e})"


def full_answers(pattern_id: str) -> str:
    data = yaml.safe_load(example_yaml(pattern_id))
    data["keystore"] = {"replace": True, "password": "env:KS_PASSWORD"}
    data["truststore"] = {"password": "env:TS_PASSWORD"}
    for node in data["nodes"]:
        node["hostname"] = f"{node['name']}.example.com"
    data.setdefault("options", {}).update(OPTIONS.get(pattern_id, {}))
    return yaml.safe_dump(data, sort_keys=False)


@cache
def rendered(pattern_id: str) -> tuple[Item, ...]:
    """Every edit of the pattern for every node it applies to, rendered like the planner."""
    answers, pattern = parse_answers(full_answers(pattern_id))
    planner = BuilderBase(answers, pattern)  # node contexts as the planner sees them
    out: list[Item] = []
    for node in planner.cx.nodes:
        ctx = planner.node_ctx[node["name"]]
        for i, e in enumerate(pattern.edits):
            if "all" not in e.roles and node["role"] not in e.roles:
                continue
            where = f"{pattern_id} edit {i}"
            ectx = {**ctx, "p": values.render(e.params, ctx, where)} if e.params else ctx
            if not values.when(e.when, ectx, where):
                continue
            fields = {k: values.render(getattr(e, k), ectx, where) for k in FIELDS}
            target = values.text(e.file, ectx, where)
            source = values.text(e.create_from, ectx, where) if e.create_from else target
            item = Item(pattern_id, node["name"], i, tuple(e.rows), source, target, fields)
            exists = ectx["dbs"][ectx["p"]["key"]]["exists"] if e.macro == "datasource" else None
            out.append(replace(item, optional=e.optional, exists=exists))
    return tuple(out)


@cache
def stock_tree(rel: str) -> etree._ElementTree:
    return etree.parse(str(STOCK / rel), etree.XMLParser(remove_blank_text=False))


def xml_items(pattern_id: str) -> list[Item]:
    return [
        it
        for it in rendered(pattern_id)
        if it.e["op"] in XML_OPS and not it.file.startswith("/") and (STOCK / it.file).is_file()
    ]


def one(ctx: Any, xpath: str, item: Item, what: str) -> Any:
    found = ctx.xpath(xpath, namespaces=NSMAP)
    assert len(found) == 1, f"{what} {xpath!r} finds {len(found)} element(s): {item.where()}"
    return found[0]


def _local(name: str) -> str:
    return name.split(":")[-1]


def commented(parent: Any, xpath: str) -> bool:
    name = re.escape(_local(xpath))
    pat = re.compile(rf"(^|<)\s*{name}[\s>/]")
    return any(
        isinstance(c, etree._Comment) and pat.search(c.text or "") for c in parent.iterchildren()
    )


def commented_path(tree: Any, locator: str) -> bool:
    """The first step of ``locator`` that is not live is inside a comment of its parent."""
    steps = locator.strip("/").split("/")
    for i in range(len(steps) - 1, 0, -1):
        parents = tree.xpath("/" + "/".join(steps[:i]), namespaces=NSMAP)
        if len(parents) == 1:
            return commented(parents[0], steps[i].split("[")[0])
    return False


def target_element(item: Item) -> Any:
    """The element an edit acts on in the stock file (None for ins/add targets)."""
    tree = stock_tree(item.file)
    e = item.e
    if e["op"] in ("ins", "add"):
        return None
    return one(tree, e["locator"], item, "locator")


def check_item(item: Item, added: list[str]) -> None:
    tree = stock_tree(item.file)
    e = item.e
    op = e["op"]
    if item.optional:
        found = tree.xpath(e["locator"], namespaces=NSMAP)
        assert len(found) <= 1, f"optional locator finds {len(found)}: {item.where()}"
        assert found or commented_path(tree, e["locator"]), (
            f"optional target is neither live nor commented (wrong locator?): {item.where()}"
        )
    elif op in ("set", "attr", "upsert", "repl", "verify", "expect"):
        el = target_element(item)
        if op == "verify":
            assert (el.text or "").strip() == str(e["value"]), (
                f"stock value differs: {item.where()}"
            )
        if op == "expect":
            accepted = e["value"] if isinstance(e["value"], list) else [e["value"]]
            assert (el.text or "").strip() in [str(v) for v in accepted], (
                f"stock value is not one the guides expect: {item.where()}"
            )
        if op == "attr":
            assert e["attr"], item.where()
    elif op == "ins":
        parent = one(tree, e["parent"], item, "parent")
        live = parent.xpath(e["locator"], namespaces=NSMAP)
        assert not live, f"ins target is live in stock (use set): {item.where()}"
        assert commented(parent, e["locator"]), f"ins target is in no comment: {item.where()}"
    elif op == "add":
        parent = one(tree, e["parent"], item, "parent")
        assert e["match"], f"add without match: {item.where()}"
        found = parent.xpath(e["match"], namespaces=NSMAP)
        if item.exists is not None:  # a datasource the planner placed: there iff found
            assert len(found) == (1 if item.exists else 0), f"placement: {item.where()}"
        else:
            assert not found, f"add target already exists in stock: {item.where()}"
        if e["after"] and e["after"] not in added:
            assert parent.xpath(e["after"], namespaces=NSMAP), (
                f"'after' finds no sibling (stock or added earlier): {item.where()}"
            )
        added.append(e["match"])


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_xml_locators_resolve_against_stock_files(pattern_id):
    items = xml_items(pattern_id)
    assert len(items) >= 5, f"{pattern_id}: too few XML edits checked ({len(items)})"
    added: dict[tuple[str, str], list[str]] = {}
    for item in items:
        check_item(item, added.setdefault((item.node, item.target), []))


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_rendering_here_matches_the_plan(pattern_id):
    """The edits checked above are exactly the plan's file edits (same nodes, files, order)."""
    answers, pattern = parse_answers(full_answers(pattern_id))
    planned: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in plan(answers, pattern).steps:
        if s.kind == "file_edit":
            planned[(s.host, s.inputs["file"])] = [
                {k: v for k, v in e.items() if k in FIELDS} for e in s.inputs["edits"]
            ]
    mine: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for it in rendered(pattern_id):
        if it.e["op"] != "hosts":
            e = {k: v for k, v in it.e.items() if v is not None}
            if e["op"] == "add" and "locator" not in e:  # the planner's locator for add
                e["locator"] = f"{e['parent']}/{e['match']}"
            mine.setdefault((it.node, it.target), []).append(e)
    assert mine == planned


# --- CHECKLIST.md per-row facts ----------------------------------------------------------


@cache
def row_facts() -> dict[str, str]:
    """Edit row ID -> its "2.6.0" column (facts confirmed in the stock files)."""
    if not CHECKLIST.is_file():
        pytest.skip("../shared/reference/CHECKLIST.md is not available")
    out: dict[str, str] = {}
    for line in CHECKLIST.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ([A-Z]+-E\d{2}) \|.*\| ([^|]*) \|\s*$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def current(item: Item) -> str:
    el = target_element(item)
    if item.e["op"] == "attr":
        return el.get(item.e["attr"], "")
    return (el.text or "").strip()


def _row_items() -> list[tuple[str, str, list[Item]]]:
    by_row: dict[tuple[str, str], list[Item]] = {}
    for pid in pattern_ids():
        for it in xml_items(pid):
            for row in it.rows:
                by_row.setdefault((pid, row), []).append(it)
    facts = row_facts()
    return [
        (row, facts[row], items) for (pid, row), items in sorted(by_row.items()) if row in facts
    ]


# rows whose fact is distinctive enough that the test must have checked it
MUST_CHECK = (
    "AIO-E06 AIO-E11 AIO-E12 DIST-E18 DIST-E21 OBA-E03 OBA-E13 OBA-E14 OBA-E22 "
    "OBK-E09 OBK-E15 OBK-E16 OBK-E22 OBK-E29 AP-E17 AP-E18"
).split()
_SINGLE = {"0", "multicast", "wso2.carbon.domain", "127.0.0.1", "4000", "false"}


def check_row_fact(row: str, fact: str, items: list[Item]) -> int:
    """Assert the row's fact on its edits; return how many facts were checked."""
    fact = fact.removeprefix("✓").strip()
    own = [it for it in items if [r for r in it.rows if "-E" in r] == [row]]
    checked = 0
    if fact == "absent" or fact.startswith("absent"):
        for it in items:
            if it.e["op"] == "attr":
                assert current(it) == "", f"{row}: attribute exists in stock: {it.where()}"
                checked += 1
            elif it.e["op"] == "add":
                checked += 1  # match absence is checked by check_item
    if "don't uncomment" in fact:
        for it in items:
            assert it.optional, f"{row}: a commented element must be set only if live"
            assert not stock_tree(it.file).xpath(it.e["locator"], namespaces=NSMAP), row
            checked += 1
    elif "commented" in fact:
        ins = [it for it in items if it.e["op"] == "ins"]
        assert ins, f"{row} is commented in stock but no edit uncomments it"
        if fact == "commented":
            assert len(ins) == len(items), f"{row}: commented target edited with set/attr"
        checked += len(ins)
    if fact in _SINGLE:
        for it in own:
            if it.e["op"] in ("set", "attr"):
                assert current(it) == fact, f"{row}: stock value is not {fact}: {it.where()}"
                checked += 1
    m = re.match(r"was (\S+)$", fact)
    if m:
        for it in own:
            assert current(it) == m.group(1), f"{row}: stock value is not {m.group(1)}"
            checked += 1
    m = re.search(r"`([^`]+)`", fact)
    if m:
        assert any(m.group(1) in current(it) for it in items if it.e["op"] == "set"), row
        checked += 1
    if "H2" in fact:
        for it in items:
            if it.exists:  # a stock datasource the plan updates in place: H2 in stock
                parent = one(stock_tree(it.file), it.e["parent"], it, "parent")
                el = one(parent, it.e["match"], it, "match")
                assert el.findtext(".//driverClassName") == "org.h2.Driver", it.where()
                checked += 1
    if "×2" in fact:
        observed = {it.e["locator"] for it in items if it.e["op"] in ("verify", "expect")}
        assert len(observed) == 2, row
        checked += 1
    if fact == "literal 9099":
        assert all(current(it).endswith(":9099") for it in items if it.e["op"] == "set"), row
        checked += 1
    m = re.match(r"Host has (\d+) Valves", fact)
    if m:
        for it in items:
            parent = one(stock_tree(it.file), it.e["parent"], it, "parent")
            assert len(parent.findall("Valve")) == int(m.group(1)), row
            checked += 1
    if fact == "all 16 exist":
        oauth = one(stock_tree(items[0].file), "/c:Server/c:OAuth", items[0], "OAuth")
        for name in OAUTH_16:
            assert len(oauth.findall(f"{{{NSMAP['c']}}}{name}")) == 1, f"{row}: {name}"
        checked += 1
    return checked


def test_checklist_row_facts_hold_for_the_catalog_edits():
    rows = _row_items()
    assert len(rows) > 60
    checked = {row: check_row_fact(row, fact, items) for row, fact, items in rows}
    # the distinctive facts were really checked, not skipped
    missed = [row for row in MUST_CHECK if not checked.get(row)]
    assert not missed, f"no fact checked for {missed}"


def _probe(**fields: str) -> Item:
    e = {**dict.fromkeys(FIELDS), **fields}
    return Item("probe", "node", -1, (), "repository/conf/carbon.xml", "carbon.xml", e)


def test_a_wrong_locator_is_caught():
    """The checks fail on a locator that misses the namespace or names a commented node."""
    with pytest.raises(AssertionError, match="finds 0 element"):
        check_item(_probe(op="set", locator="/Server/Ports/Offset"), [])
    with pytest.raises(AssertionError, match="finds 0 element"):
        check_item(_probe(op="set", locator="/c:Server/c:HostName"), [])
    with pytest.raises(AssertionError, match="live in stock"):
        check_item(_probe(op="ins", parent="/c:Server", locator="c:Ports"), [])
    with pytest.raises(AssertionError, match="already exists"):
        check_item(_probe(op="add", parent="/c:Server", match="c:Ports", value="x"), [])
    typo = replace(_probe(op="set", locator="/c:Server/c:HostNam"), optional=True)
    with pytest.raises(AssertionError, match="neither live nor commented"):
        check_item(typo, [])
    check_item(replace(_probe(op="set", locator="/c:Server/c:HostName"), optional=True), [])


# --- the real edit engine on the stock files ---------------------------------------------

FAKE_SECRETS = {"db.password": "db-pw", "admin.password": "admin-pw", "keystore.password": "ks-pw"}


def _resolved(value: Any) -> Any:
    """The value with its secret tokens replaced (the fake values need no JSON escaping)."""
    return json.loads(substitute(json.dumps(value), FAKE_SECRETS.__getitem__))


@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_plan_file_edits_apply_to_stock_files_once(pattern_id):
    """Each file_edit step of the plan applies to the stock file and a re-run is a no-op;
    computed in batches (the fast path) it gives the very bytes of one edit at a time."""
    answers, pattern = parse_answers(full_answers(pattern_id))
    steps = [s for s in plan(answers, pattern).steps if s.kind == "file_edit"]
    applied = 0
    seen: set[str] = set()
    for step in steps:
        home = step.inputs["path"].removesuffix(step.inputs["file"])
        source = step.inputs.get("create_from", step.inputs["path"]).removeprefix(home)
        if not (STOCK / source).is_file():
            continue  # OB-only files (open-banking.xml)
        key = json.dumps([source, step.inputs["edits"]], sort_keys=True)
        if key in seen:  # the same edits on another node: same result
            continue
        seen.add(key)
        edits = [
            Edit.from_mapping({**e, "value": _resolved(e.get("value"))})
            for e in step.inputs["edits"]
        ]
        before = (STOCK / source).read_bytes()
        result = apply_edits(step.inputs["path"], before, edits, host=step.host)
        assert result.changed != in_place_on_stock(edits), f"{step.id}: changed={result.changed}"
        assert not apply_edits(step.inputs["path"], result.content, edits).changed, step.id
        if all(e.op in XML_OPS for e in edits):
            doc, _, _ = one_by_one(XmlDoc(before), edits)
            assert doc.data == result.content, f"{step.id}: batched differs from one by one"
        text = result.content.decode("latin-1")
        if step.inputs["file"].endswith("axis2.xml") and pattern_id == "ob-km-ha":
            assert text.count("<member>") == 2  # WKA list = both KM nodes, self included
        if step.inputs["file"].endswith("catalina-server.xml") and pattern_id == "ob-km-ha":
            assert 'className="org.apache.catalina.valves.RemoteIpValve"' in text
        if step.inputs["file"].endswith("api-manager.xml") and step.host == "gw":
            assert "<ThriftClientPort>10398</ThriftClientPort>" in text  # 10397 + km offset 1
            assert "<!--ThriftClientPort>10397</ThriftClientPort-->" in text  # comment kept
        applied += 1
    assert applied >= 10, f"{pattern_id}: only {applied} file edits applied"
