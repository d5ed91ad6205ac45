"""Locators that find nothing, broken files and bad edits fail loudly and say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.edits import Edit, apply_edits
from wizard.errors import EXIT_BAD_INPUT, EXIT_STEP_FAILED, WizardError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"
CARBON = (FIXTURES / "carbon.xml").read_bytes()
AMX = (FIXTURES / "api-manager.xml").read_bytes()
MD = (FIXTURES / "master-datasources.xml").read_bytes()


def _fails(path: str, data: bytes, *edits: Edit) -> WizardError:
    before = bytes(data)
    with pytest.raises(WizardError) as info:
        apply_edits(path, data, list(edits), host="node7")
    assert data == before
    return info.value


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        (b"<a>\n  <b>x</c>\n</a>\n", 2, 11),
        (b"<a>\n  <b>fish & chips</b>\n</a>\n", 2, 12),
        (b'<?xml version="1.0"?>\n<a>\n  <b>\n', 4, 1),
        (b"<a x='1' x='2'/>", 1, 15),
    ],
)
def test_broken_xml_names_host_path_line_and_column(data: bytes, line: int, column: int) -> None:
    err = _fails("conf/x.xml", data, Edit("set", "/a/b", "v"))
    assert (err.where.host, err.where.file) == ("node7", "conf/x.xml")
    assert (err.where.line, err.where.column) == (line, column)
    assert err.exit_code == EXIT_STEP_FAILED
    assert err.render().startswith(f"node7:conf/x.xml:{line}:{column}: not well-formed XML")


def test_set_on_an_element_that_exists_only_in_a_comment_says_so() -> None:
    err = _fails("repository/conf/carbon.xml", CARBON, Edit("set", "/c:Server/c:HostName", "h"))
    text = err.render()
    assert text.startswith("node7:repository/conf/carbon.xml:6: locator '/c:Server/c:HostName'")
    assert "<HostName> exists only inside a comment at line 13" in text
    assert "c:Ports" in text  # what is there instead


def test_unprefixed_locator_in_a_default_namespace_file_gets_a_hint() -> None:
    err = _fails("carbon.xml", CARBON, Edit("set", "/Server/Ports/Offset", "1"))
    assert "the root element is <c:Server>" in err.what
    assert "write c:Server" in err.what


def test_locator_matching_several_elements_lists_their_lines() -> None:
    err = _fails("api-manager.xml", AMX, Edit("set", "//ServerURL", "x"))
    assert "matches 3 elements (lines 4, 11, 16); exactly one is needed" in err.what
    assert err.fix and "parent" in err.fix


def test_missing_datasource_lists_the_ones_that_exist() -> None:
    loc = "/datasources-configuration/datasources/datasource[name='WSO2UM_DB']"
    err = _fails("md.xml", MD, Edit("upsert", loc, {"datasource": {"name": "WSO2UM_DB"}}))
    assert "2 <datasource> there, none matching" in err.what
    assert "name='WSO2_CARBON_DB'" in err.what and "name='WSO2AM_DB'" in err.what


def test_verify_mismatch_is_a_failed_step_with_both_values() -> None:
    err = _fails("amx.xml", AMX, Edit("verify", "/APIManager/DataSourceName", "jdbc/OTHER"))
    assert err.exit_code == EXIT_STEP_FAILED
    assert "'jdbc/WSO2AM_DB', expected 'jdbc/OTHER'" in err.what
    assert err.where.line == 2


def test_verify_of_a_secret_never_shows_the_values() -> None:
    err = _fails(
        "md.xml",
        MD,
        Edit("verify", "//datasource[name='WSO2AM_DB']//password", "hunter22", secret=True),
    )
    assert "hunter22" not in err.render() and "wso2carbon" not in err.render()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (Edit("set", "/APIManager/AuthManager", "x"), "has child elements"),
        (Edit("set", "/APIManager/[", "x"), "invalid XPath"),
        (Edit("attr", "/APIManager/AuthManager", "x"), "names no attribute"),
        (Edit("add", "/APIManager", {"X": "1"}, parent="/APIManager"), "needs match"),
        (Edit("add", "/APIManager", {"X": "1"}), "add needs parent"),
        (Edit("upsert", "/APIManager/AuthManager", {"Other": {"a": "1"}}), "spec is <Other>"),
        (Edit("set", "/APIManager/DataSourceName", "bell\x07"), "U+0007"),
        (Edit("set", "//Environment/@type", "1"), "not elements"),
        (Edit("upsert", "/APIManager/AuthManager", {"a": 1, "b": 2}), "exactly one key"),
        (Edit("prop", "k", "v"), "mixed"),
    ],
)
def test_bad_edits_are_refused_with_a_reason(edit: Edit, words: str) -> None:
    edits = [edit] if edit.op != "prop" else [Edit("set", "/APIManager/DataSourceName", "x"), edit]
    err = _fails("api-manager.xml", AMX, *edits)
    assert words in err.render()


def test_unknown_op_and_unknown_fields_are_bad_input() -> None:
    with pytest.raises(WizardError) as info:
        Edit("delete", "/a")
    assert info.value.exit_code == EXIT_BAD_INPUT
    with pytest.raises(WizardError) as info:
        Edit.from_mapping({"op": "set", "locator": "/a", "valu": "x"})
    assert "valu" in info.value.what


def test_ins_with_an_unprefixed_name_under_a_namespaced_parent_is_refused() -> None:
    err = _fails("carbon.xml", CARBON, Edit("ins", "HostName", "h", parent="/c:Server"))
    assert "write c:HostName" in err.what


def test_add_after_a_sibling_that_does_not_exist() -> None:
    err = _fails(
        "md.xml",
        MD,
        Edit(
            "add",
            "/datasources-configuration/datasources",
            {"datasource": {"name": "X"}},
            parent="/datasources-configuration/datasources",
            match="datasource[name='X']",
            after="datasource[name='NOPE']",
        ),
    )
    assert err.what.startswith("after \"datasource[name='NOPE']\" finds nothing")


def test_namespaced_attribute_names_are_refused_not_duplicated() -> None:
    err = _fails("amx.xml", AMX, Edit("attr", "/APIManager", "x", attr="xsi:type"))
    assert "not supported" in err.what


def test_two_edits_fighting_over_one_element_fail_the_read_back() -> None:
    err = _fails(
        "amx.xml",
        AMX,
        Edit("set", "/APIManager/DataSourceName", "jdbc/A"),
        Edit("set", "/APIManager/DataSourceName", "jdbc/B"),
    )
    assert "edit 'set /APIManager/DataSourceName' does not read back" in err.what
    assert err.exit_code == EXIT_STEP_FAILED
