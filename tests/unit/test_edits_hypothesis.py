"""Any text XML 1.0 can hold goes in through set/attr/add and reads back exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from wizard.edits import Edit, apply_edits
from wizard.edits.jsonedit import decode, parse
from wizard.edits.textops import read_props
from wizard.errors import Where

XML_TEXT = st.text(
    st.characters(
        exclude_categories=("Cs",),
        exclude_characters=[chr(c) for c in range(0x20) if c not in (9, 10, 13)]
        + ["\ufffe", "\uffff"],
    ),
    max_size=40,
)
# bias towards the characters that break naive code
NASTY = st.lists(st.sampled_from(list("&<>\"'\r\n\t]]>${}é€😀 ")), max_size=12).map("".join)
VALUE = st.one_of(XML_TEXT, NASTY, st.tuples(NASTY, XML_TEXT).map("".join))

DOCS = {
    "utf-8": '<?xml version="1.0" encoding="UTF-8"?>\n<r>\n  <a k="v">ü</a>\n  <list>\n'
    "    <i>1</i>\n  </list>\n</r>\n".encode(),
    "latin-1-crlf": '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<r>\r\n  <a k=\'v\'>é</a>\r\n'
    "  <list>\r\n    <i>1</i>\r\n  </list>\r\n</r>\r\n".encode("latin-1"),
}

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(kind=st.sampled_from(sorted(DOCS)), text=VALUE, attr=VALUE, child=VALUE)
def test_values_round_trip_through_set_attr_and_add(
    kind: str, text: str, attr: str, child: str
) -> None:
    data = DOCS[kind]
    edits = [
        Edit("set", "/r/a", text),
        Edit("attr", "/r/a", attr, attr="k"),
        Edit("attr", "/r/a", attr, attr="new"),
        Edit(
            "add",
            "/r/list",
            {"i": {"@id": attr, "#text": child}},
            parent="/r/list",
            match="i[@id]",
        ),
    ]
    result = apply_edits("f.xml", data, edits)
    root = etree.fromstring(result.content)
    a = root.find("a")
    assert (a.text or "") == text
    assert a.get("k") == attr and a.get("new") == attr
    added = root.find("list/i[@id]")
    assert added.get("id") == attr and (added.text or "") == child
    # declaration and line endings stay; nothing else moved
    assert result.content.splitlines(keepends=True)[0] == data.splitlines(keepends=True)[0]
    assert result.content.count(b"</list>") == 1
    if kind == "latin-1-crlf":
        # still a latin-1 file: characters beyond latin-1 became character references
        if "€" in text + attr + child:
            assert b"&#8364;" in result.content and "€".encode() not in result.content
        assert b"\r\n  </list>\r\n</r>\r\n" in result.content
    again = apply_edits("f.xml", result.content, edits)
    assert again.content == result.content and not again.changed


@SETTINGS
@given(value=XML_TEXT)
def test_values_round_trip_through_repl_and_ins(value: str) -> None:
    data = DOCS["utf-8"]
    edits = [
        Edit("repl", "/r/list", {"list": {"i": [value, {"@n": value}]}}),
        Edit("ins", "/r/new", value),
    ]
    root = etree.fromstring(apply_edits("f.xml", data, edits).content)
    items = root.findall("list/i")
    assert [(i.text or "") for i in items] == [value, ""]
    assert items[1].get("n") == value
    assert (root.find("new").text or "") == value


JSON_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@SETTINGS
@given(value=st.one_of(JSON_TEXT, st.booleans(), st.integers(), st.none()))
def test_json_values_round_trip(value: object) -> None:
    data = b'{\n  // c\n  "p": {\n    "a": 1, // one\n  },\n  "a": 2,\n}\n'
    out = apply_edits("s.json", data, [Edit("json", "p", {"a": value, "b": value})]).content
    obj = decode(parse(out.decode(), Where()))
    assert obj["p"] == {"a": value, "b": value} and obj["a"] == 2


@SETTINGS
@given(key=st.from_regex(r"[A-Za-z][\w.]{0,10}", fullmatch=True), value=JSON_TEXT)
def test_properties_values_round_trip(key: str, value: str) -> None:
    data = b"# c\nfirst = 1\n"
    out = apply_edits("j.properties", data, [Edit("prop", key, value)]).content
    assert out.isascii()
    props = read_props(out.decode("latin-1"))
    assert props[key] == value
    if key != "first":
        assert props["first"] == "1"
