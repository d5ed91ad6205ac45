"""Reading a home before planning (wizard/planning/homefacts.py) and what the planner makes of it:
the datasource files Carbon loads, references, and the product version (a home of
another version stops the plan, nothing changed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.connectors.local import LocalTransport
from wizard.errors import WizardError
from wizard.planning.build import plan, survey_files
from wizard.planning.homefacts import Facts, read_home
from wizard.planning.layout import product_problem

CARBON = """<?xml version="1.0" encoding="ISO-8859-1"?>
<Server xmlns="http://wso2.org/projects/carbon/carbon.xml">
    <Name>{name}</Name>
    <ServerKey>AM</ServerKey>
    <Version>{version}</Version>
</Server>
"""
DS = """<datasources-configuration>
  <datasources>
{body}
  </datasources>
</datasources-configuration>
"""
ONE = """    <datasource><name>{name}</name><jndiConfig><name>{jndi}</name></jndiConfig>
      <definition type="RDBMS"><configuration><url>{url}</url></configuration></definition>
    </datasource>"""


def _ds(*items: tuple[str, str, str]) -> str:
    return DS.format(body="\n".join(ONE.format(name=n, jndi=j, url=u) for n, j, u in items))


def _home(root: Path, name: str = "WSO2 API Manager", version: str = "2.6.0") -> Path:
    conf = root / "repository/conf"
    (conf / "datasources").mkdir(parents=True)
    (conf / "carbon.xml").write_text(CARBON.format(name=name, version=version))
    (conf / "datasources/master-datasources.xml").write_text(
        _ds(
            ("WSO2AM_DB", "jdbc/WSO2AM_DB", "jdbc:h2:x"),
            ("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "jdbc:h2:y"),
        )
    )
    (conf / "datasources/open-banking-datasources.xml").write_text(
        _ds(("WSO2_OPEN_BANKING_DB", "jdbc/WSO2OpenBankingDB", "jdbc:h2:z"))
    )
    (conf / "datasources/notes.xml").write_text(_ds(("IGNORED", "jdbc/Ignored", "jdbc:h2:q")))
    (conf / "user-mgt.xml").write_text(
        "<UserManager><Realm><Configuration>"
        '<Property name="dataSource">jdbc/WSO2CarbonDB</Property>'
        "</Configuration></Realm></UserManager>\n"
    )
    return root


def test_a_home_is_read_as_carbon_loads_it(tmp_path: Path) -> None:
    home = _home(tmp_path)
    facts = read_home(LocalTransport(), "node", str(home), ["repository/conf/user-mgt.xml"])
    assert facts.present and str(facts.product()) == "WSO2 API Manager 2.6.0"
    assert facts.product().line == 5  # type: ignore[union-attr]
    # master-datasources.xml first, then *-datasources.xml; other files are not loaded
    assert [d.name for d in facts.datasources()] == [
        "WSO2AM_DB", "WSO2_CARBON_DB", "WSO2_OPEN_BANKING_DB"]  # fmt: skip
    path = "/UserManager/Realm/Configuration/Property[@name='dataSource']"
    assert facts.value_at("repository/conf/user-mgt.xml", path) == "jdbc/WSO2CarbonDB"
    assert facts.value_at("repository/conf/user-mgt.xml", "/Nope") is None
    assert facts.value_at("repository/conf/registry.xml", "/x") is None  # not read


def test_a_malformed_file_names_host_file_line_and_column(tmp_path: Path) -> None:
    home = _home(tmp_path)
    bad = home / "repository/conf/datasources/master-datasources.xml"
    bad.write_text("<datasources-configuration>\n  <datasources>\n  </oops>\n")
    facts = read_home(LocalTransport(), "node", str(home), [])
    with pytest.raises(WizardError) as err:
        facts.datasources()
    assert err.value.where.host == "node" and err.value.where.line == 3
    assert str(bad) == err.value.where.file


def _answers(home: Path, pattern: str = "apim-all-in-one"):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(example_yaml(pattern))
    data["product"]["home"] = str(home)
    for node in data["nodes"]:
        node["home"] = str(home)
    return parse_answers(yaml.safe_dump(data))


def _facts(answers, pattern, server=None):  # type: ignore[no-untyped-def]
    homes = {
        n: read_home(LocalTransport(), n, home, extra)
        for n, (home, extra) in survey_files(answers, pattern).items()
    }
    return Facts(homes, server)


def _product_problems(answers, pattern, facts) -> list[WizardError]:  # type: ignore[no-untyped-def]
    """What the preflight's version check finds on each node (wizard/flow/preflight.py)."""
    out = []
    for n in answers.nodes:
        node = {"name": n.name, "role": n.role, "home": n.home or answers.product.home}
        ctx = {"product": {"version": answers.product.version}, "node": node}
        found = product_problem(pattern, node, ctx, facts.homes.get(n.name))
        if found is not None:
            out.append(found)
    return out


def test_a_home_of_another_version_is_a_preflight_problem(tmp_path: Path) -> None:
    home = _home(tmp_path, version="2.5.0")
    answers, pattern = _answers(home)
    facts = _facts(answers, pattern)
    plan(answers, pattern, facts)  # the plan is made; the preflight gate refuses the run
    (err,) = _product_problems(answers, pattern, facts)
    msg = err.render()
    assert "holds WSO2 API Manager 2.5.0" in msg and "nothing was changed" in msg
    assert err.exit_code == 2 and err.where.line == 5
    assert err.where.file == str(home / "repository/conf/carbon.xml")


def test_the_plan_follows_what_the_home_holds(tmp_path: Path) -> None:
    home = _home(tmp_path)
    answers, pattern = _answers(home)
    assert "repository/conf/user-mgt.xml" in survey_files(answers, pattern)["node"][1]
    p = plan(answers, pattern, _facts(answers, pattern))
    assert p.layout["node"]["am"] == {
        "file": "repository/conf/datasources/master-datasources.xml",
        "name": "WSO2AM_DB", "jndi": "jdbc/WSO2AM_DB", "how": "found"}  # fmt: skip
    assert p.layout["node"]["um"]["how"] == "new"
    notes = "\n".join(p.notes["node"])
    assert (
        "user-mgt.xml" in notes and "jdbc/WSO2CarbonDB (WSO2_CARBON_DB) -> jdbc/WSO2UM_DB" in notes
    )
    assert "offline" not in notes


def test_an_ob_key_manager_home_is_identity_server_5_7_0(tmp_path: Path) -> None:
    """An OB Key Manager pack is IS-KM based: the km roles take it, the apim role not."""
    km = _home(tmp_path / "km", name="WSO2 Identity Server", version="5.7.0")
    data = yaml.safe_load(example_yaml("ob-km-ha"))
    for node in data["nodes"]:
        node["home"] = str(km if node["role"] != "apim" else _home(tmp_path / "am"))
    answers, pattern = parse_answers(yaml.safe_dump(data))
    assert not _product_problems(answers, pattern, _facts(answers, pattern))  # no refusal
    for node in data["nodes"]:
        node["home"] = str(km)
    answers, pattern = parse_answers(yaml.safe_dump(data))
    (err,) = _product_problems(answers, pattern, _facts(answers, pattern))  # the apim node
    assert "holds WSO2 Identity Server 5.7.0" in err.what
