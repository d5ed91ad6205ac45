"""Diffs per host and file, labelled host:path, never showing a secret."""

from __future__ import annotations

from pathlib import Path

from wizard.edits import Edit, apply_edits, unified_diffs
from wizard.secrets import MASK, Secret

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"
MD = (FIXTURES / "master-datasources.xml").read_bytes()
PW = "/datasources-configuration/datasources/datasource[name='WSO2AM_DB']//password"


def test_diff_is_labelled_and_shows_only_the_edited_line() -> None:
    result = apply_edits(
        "conf/md.xml", MD, [Edit("set", PW.replace("password", "maxActive"), 75)], host="node2"
    )
    diff = result.diff(context=0)
    assert diff.splitlines() == [
        "--- node2:conf/md.xml",
        "+++ node2:conf/md.xml",
        "@@ -36 +36 @@",
        "-                    <maxActive>50</maxActive>",
        "+                    <maxActive>75</maxActive>",
    ]
    again = apply_edits("conf/md.xml", result.content, [o.edit for o in result.outcomes])
    assert again.diff() == ""


def test_secret_edit_values_are_masked_in_every_escaped_form() -> None:
    value = "s&cr<t>'\"x"
    result = apply_edits("md.xml", MD, [Edit("set", PW, value, secret=True)], host="h")
    assert b"s&amp;cr&lt;t&gt;'\"x" in result.content
    diff = result.diff()
    assert "cr&lt;t" not in diff and "s&amp;" not in diff and value not in diff
    assert f"+                    <password>{MASK}</password>" in diff
    # the old password (the value being replaced) is masked too
    assert f"-                    <password>{MASK}</password>" in diff
    assert "secret" not in result.outcomes[0].detail and MASK in result.outcomes[0].detail


def test_values_known_to_redact_are_masked_even_without_the_secret_flag() -> None:
    pw = Secret("Very-Secret-42", "env:DB_PW")
    spec = {"configuration": {"password": pw, "username": "u"}}
    loc = "/datasources-configuration/datasources/datasource[name='WSO2AM_DB']//configuration"
    result = apply_edits("md.xml", MD, [Edit("upsert", loc, spec)], host="h")
    assert b"<password>Very-Secret-42</password>" in result.content
    assert "Very-Secret-42" not in result.diff()


def test_properties_and_json_secret_values_are_masked() -> None:
    url = "amqp://admin:Pa55word!@clientid/carbon?brokerlist='tcp://h:5672'"
    prop = apply_edits(
        "jndi.properties", b"a = b\n", [Edit("prop", "a", url, secret=True)], host="h"
    )
    assert "Pa55word" not in prop.diff() and f"+a = {MASK}" in prop.diff()
    js = apply_edits("s.json", b'{"k": "old"}', [Edit("json", "", {"k": 'p"w\\d'}, secret=True)])
    assert 'p\\"w' not in js.diff() and MASK in js.diff()


def test_crlf_files_diff_as_their_edited_lines_only() -> None:
    crlf = MD.replace(b"\n", b"\r\n")
    edit = Edit("set", PW.replace("password", "maxActive"), 75)
    results = [apply_edits("md.xml", crlf, [edit], host=h) for h in ("n1", "n2")]
    text = unified_diffs(results)
    assert text.count("--- n1:md.xml") == 1 and text.count("--- n2:md.xml") == 1
    assert sum(1 for line in text.splitlines() if line.startswith(("-  ", "+  "))) == 4
    assert "\r" not in text
