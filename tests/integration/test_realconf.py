"""Real, admin-edited configuration sets (../shared/real-conf) as tests.

Each set is laid over a stock 2.6.0 home (../shared/wso2-conf) and the pattern it fits is
applied with ``apply --only files`` (transport local, a scratch hosts file), twice, through
the real CLI. Judged as an admin would: exit 0 (or, for a home of another version, a clear
refusal before any change); every XML file still parses; line endings, the XML
declaration, comments and ``${...}`` placeholders outside the edited values kept; no JNDI
name bound twice; every datasource reference resolves; the answers' databases are where
the pattern needs them; the second run changes nothing. Skipped when ../shared is absent.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from wizard.answers.example import example_yaml
from wizard.cli import main

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
STOCK = SHARED / "wso2-conf" / "apim-2.6.0"
REAL = SHARED / "real-conf"
SECRETS = {
    "DB_ADMIN_PASSWORD": "rc-Adm1n",
    "DB_PASSWORD": "rc-Db-pw-7",
    "CARBON_ADMIN_PASSWORD": "rc-Carbon-9",
    "TRUSTSTORE_PASSWORD": "wso2carbon",
    "KEYSTORE_PASSWORD": "rc-Ks-pw-3",
}
# set id -> (pattern, {node: real set laid over the stock home})
SETS: dict[str, tuple[str, dict[str, str]]] = {
    "k8s-2.6.0-pattern2-distributed": ("apim-distributed", {
        "km": "k8s-2.6.0-pattern2/apim-km", "gw": "k8s-2.6.0-pattern2/apim-gateway",
        "pub": "k8s-2.6.0-pattern2/apim-pubstore-tm-1",
        "store": "k8s-2.6.0-pattern2/apim-pubstore-tm-1",
        "tm": "k8s-2.6.0-pattern2/apim-pubstore-tm-1"}),
    "k8s-2.6.0-pattern2-km-all-in-one": ("apim-all-in-one", {"node": "k8s-2.6.0-pattern2/apim-km"}),
    "ob-1.5-apim-cluster": ("ob-apim-cluster", {"node1": "ob-1.5/obam-uk",
                                                "node2": "ob-1.5/obam-berlin"}),
    "ob-1.5-km-ha": ("ob-km-ha", {"km1": "ob-1.5/obkm-uk", "km2": "ob-1.5/obkm-berlin",
                                  "apim": "ob-1.5/obam-uk"}),
    "docker-2.5.0-other-version": ("apim-all-in-one", {"node": "docker-2.5.0-iskm/apim"}),
}  # fmt: skip
REFUSED = {"docker-2.5.0-other-version": r"holds WSO2 API Manager 2\.5\.0.*nothing was changed"}
# the API-M database must be where each of these nodes reads it
USES_AM = {"apim-distributed": {"km", "pub", "store"}, "apim-all-in-one": {"node"},
           "ob-apim-cluster": {"node1", "node2"}, "ob-km-ha": {"km1", "km2"}}  # fmt: skip
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

pytestmark = pytest.mark.skipif(
    not (STOCK.is_dir() and REAL.is_dir()), reason="../shared/wso2-conf or real-conf absent"
)


@dataclass(frozen=True)
class FileFacts:
    sha: str
    crlf: int
    lines: int
    decl: str
    placeholders: Counter[str]
    comments: int
    parses: bool


def _facts(home: Path) -> dict[str, FileFacts]:
    out = {}
    for p in sorted(home.rglob("*")):
        if not p.is_file() or p.suffix not in (".xml", ".properties", ".json"):
            continue
        raw = p.read_bytes()
        decl = re.match(rb"<\?xml[^>]*\?>", raw)
        parses = True
        if p.suffix == ".xml":
            try:
                etree.fromstring(raw, PARSER)
            except etree.XMLSyntaxError:
                parses = False
        out[str(p.relative_to(home))] = FileFacts(
            hashlib.sha256(raw).hexdigest(),
            raw.count(b"\r\n"),
            raw.count(b"\n"),
            decl.group(0).decode("latin-1") if decl else "",
            Counter(re.findall(rb"\$\{[^}]+\}", raw)),  # type: ignore[arg-type]
            raw.count(b"<!--"),
            parses,
        )
    return out


def _datasources(home: Path) -> list[tuple[str, str, str, str]]:
    """(file, name, jndi, url) of every datasource of every file Carbon loads."""
    out = []
    for p in sorted((home / "repository/conf/datasources").glob("*.xml")):
        for ds in etree.parse(str(p), PARSER).iter("datasource"):
            out.append((p.name, ds.findtext("name") or "", ds.findtext("jndiConfig/name") or "",
                        ds.findtext(".//url") or ""))  # fmt: skip
    return out


REFS = (
    ("repository/conf/user-mgt.xml", "//Realm/Configuration/Property[@name='dataSource']"),
    ("repository/conf/registry.xml", "//dbConfig/dataSource"),
    ("repository/conf/api-manager.xml", "/APIManager/DataSourceName"),
    ("repository/conf/identity/identity.xml",
     "//*[local-name()='JDBCPersistenceManager']/*[local-name()='DataSource']/*[local-name()='Name']"),
    ("repository/conf/finance/open-banking.xml",
     "//*[local-name()='DataSource']/*[local-name()='Name']"),
)  # fmt: skip


def _dangling(home: Path) -> set[tuple[str, str]]:
    bound = {jndi for _, _, jndi, _ in _datasources(home) if jndi}
    out = set()
    for rel, xpath in REFS:
        if (home / rel).is_file():
            for e in etree.parse(str(home / rel), PARSER).xpath(xpath):
                name = (e.text or "").strip()
                if name and name not in bound:
                    out.add((rel, name))
    return out


def _answers(pattern: str, homes: dict[str, Path], tmp: Path) -> tuple[Path, dict[str, Any]]:
    data = yaml.safe_load(example_yaml(pattern))
    data["db"]["host"] = "127.0.0.1"
    data["product"]["hosts_file"] = str(tmp / "hosts")
    (tmp / "hosts").write_text("127.0.0.1 localhost\n10.1.1.1 legacy.example.org\n")
    for i, node in enumerate(data["nodes"]):
        node["address"] = f"127.0.1.{i + 2}"
        node["home"] = str(homes[node["name"]])
        node["ssh"] = {"transport": "local"}
    if data.get("lb"):
        data["lb"].update(address="127.0.1.1", ssl_dir=str(tmp / "lb-ssl"))
        data["lb"]["ssh"] = {"transport": "local"}
    path = tmp / "answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, data


def _apply(answers: Path, tmp: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = ["--session-dir", str(tmp / "sessions"), "apply", "--answers", str(answers),
            "--yes", "--only", "files"]  # fmt: skip
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def _lay_out(nodes: dict[str, str], tmp: Path, *, pack_only: bool = False) -> dict[str, Path]:
    """A stock home per node with the real set over it; ``pack_only``: only the set's
    files a stock API-M home lacks (an Open Banking pack's own), for a reference run."""
    homes = {}
    for node, real in nodes.items():
        homes[node] = tmp / "homes" / node
        shutil.copytree(STOCK, homes[node], symlinks=True)
        for src in sorted((REAL / real).rglob("*")):
            rel = src.relative_to(REAL / real)
            if src.is_file() and not (pack_only and (STOCK / rel).exists()):
                (homes[node] / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, homes[node] / rel)
    return homes


@dataclass
class Run:
    code: int
    output: str
    before: dict[str, dict[str, FileFacts]]
    after: dict[str, dict[str, FileFacts]]
    again: dict[str, dict[str, FileFacts]]
    homes: dict[str, Path]
    answers: dict[str, Any]
    dangling_before: dict[str, set[tuple[str, str]]]
    plans: list[str]  # each run's plan as its session saved it


def _run(
    pattern: str, nodes: dict[str, str], tmp: Path, capsys: Any, mp: Any, pack_only: bool = False
) -> Run:
    for k, v in SECRETS.items():
        mp.setenv(k, v)
    homes = _lay_out(nodes, tmp, pack_only=pack_only)
    answers, data = _answers(pattern, homes, tmp)
    before = {n: _facts(h) for n, h in homes.items()}
    dangling = {n: _dangling(h) for n, h in homes.items()}
    code, out = _apply(answers, tmp, capsys)
    after = {n: _facts(h) for n, h in homes.items()}
    code2, out2 = _apply(answers, tmp, capsys)
    again = {n: _facts(h) for n, h in homes.items()}
    assert code2 == code, out + "\n---- second run ----\n" + out2
    plans = [p.read_text() for p in sorted((tmp / "sessions").glob("*/plan.json"))]
    return Run(code, out + out2, before, after, again, homes, data, dangling, plans)


@pytest.fixture(scope="module")
def stock_loss(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Counter]:
    """Per pattern, node and file: the placeholders the pattern's own edits replace in
    stock files (an admin's set may lose those, and no others). The stock homes get the
    pack's own files of the set (open-banking.xml...) that API-M's stock lacks."""
    loss: dict[tuple[str, str, str], Counter] = {}
    mp = pytest.MonkeyPatch()
    try:
        for pattern, nodes in {p: n for p, n in SETS.values()}.items():
            tmp = tmp_path_factory.mktemp(f"stock-{pattern}")
            run = _run(pattern, nodes, tmp, _NoCapture(), mp, pack_only=True)
            assert run.code == 0, run.output
            for node, files in run.before.items():
                for rel, f in files.items():
                    loss[(pattern, node, rel)] = f.placeholders - run.after[node][rel].placeholders
    finally:
        mp.undo()
    return loss


class _NoCapture:
    """capsys stand-in for the module fixture (its output is only read on failure)."""

    def readouterr(self) -> Any:
        return type("Out", (), {"out": "", "err": ""})()


@pytest.mark.parametrize("set_id", list(SETS))
def test_a_real_set_is_edited_faithfully(
    set_id: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stock_loss: dict[tuple[str, str, str], Counter],
) -> None:
    pattern, nodes = SETS[set_id]
    run = _run(pattern, nodes, tmp_path, capsys, monkeypatch)
    assert "Traceback" not in run.output
    if set_id in REFUSED:
        assert run.code == 2, run.output
        assert re.search(REFUSED[set_id], run.output), run.output
        assert run.after == run.before, "a refused run changed files"
        return
    assert run.code == 0, run.output
    # the homes changed between the runs; the plan did not (a re-plan is the same plan)
    assert len(run.plans) == 2 and run.plans[0] == run.plans[1]
    faults: list[str] = []
    for node, home in run.homes.items():
        for rel, b in run.before[node].items():
            a, g = run.after[node][rel], run.again[node][rel]
            if g.sha != a.sha:
                faults.append(f"{node}:{rel} changed again by the second run")
            if a.sha == b.sha:
                continue
            if b.parses and not a.parses:
                faults.append(f"{node}:{rel} no longer parses")
            if (b.crlf == b.lines) != (a.crlf == a.lines) or (b.crlf == 0) != (a.crlf == 0):
                faults.append(f"{node}:{rel} line endings {b.crlf}/{b.lines} -> {a.crlf}/{a.lines}")
            if a.decl.replace("'", '"').lower() != b.decl.replace("'", '"').lower():
                faults.append(f"{node}:{rel} declaration {b.decl!r} -> {a.decl!r}")
            lost = b.placeholders - a.placeholders
            allowed = stock_loss.get((pattern, node, rel), Counter())
            if lost - allowed:
                faults.append(f"{node}:{rel} lost placeholders {dict(lost - allowed)}")
            if a.comments < b.comments:
                faults.append(f"{node}:{rel} comments {b.comments} -> {a.comments}")
        ds = _datasources(home)
        jndis = Counter(j for _, _, j, _ in ds if j)
        names = Counter(n for _, n, _, _ in ds)
        faults += [f"{node}: JNDI {j} bound {c} times" for j, c in jndis.items() if c > 1]
        faults += [f"{node}: datasource {n} defined {c} times" for n, c in names.items() if c > 1]
        for rel, ref in sorted(_dangling(home) - run.dangling_before[node]):
            faults.append(f"{node}: {rel} names {ref}, which no datasource binds")
        db = run.answers["db"]
        if node in USES_AM.get(pattern, ()):
            am = db["databases"].get("am", {}).get("name") or "apimgtdb"
            want = f"//{db['host']}:{db['port']}/{am}?"
            urls = [u for _, n, j, u in ds if j == "jdbc/WSO2AM_DB"]
            if not any(want in u for u in urls):
                faults.append(f"{node}: jdbc/WSO2AM_DB not on {want}: {urls}")
    assert not faults, "\n".join(faults) + "\n" + run.output[-3000:]


def test_open_banking_database_is_updated_where_the_pack_binds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """obam-uk binds jdbc/WSO2OpenBankingDB in open-banking-datasources.xml: that one
    points at the answers' database afterwards, and no second one appears anywhere."""
    run = _run("ob-apim-cluster", SETS["ob-1.5-apim-cluster"][1], tmp_path, capsys, monkeypatch)
    assert run.code == 0, run.output
    for home in run.homes.values():
        ob = [d for d in _datasources(home) if d[2] == "jdbc/WSO2OpenBankingDB"]
        assert len(ob) == 1 and ob[0][0] == "open-banking-datasources.xml", ob
        assert "//127.0.0.1:3306/openbank_openbankingdb?" in ob[0][3]
        # the shared WSO2_COMMON_DB is left as it was, and the plan says so
        common = [d for d in _datasources(home) if d[1] == "WSO2_COMMON_DB"]
        assert common and "mysql:3306/openbank_commondb" in common[0][3]
    assert "WSO2_COMMON_DB" in run.output and "left as is" in run.output
    assert "serves um, config, reg today" in run.output
