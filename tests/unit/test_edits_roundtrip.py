"""Parse -> serialize with no edit gives back every byte, for every stock 2.6.0 XML file,
and the scanner's spans (which edits splice into) rebuild the file exactly and pair with
every lxml node."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.edits.xmlfile import Patch, XmlDoc
from wizard.edits.xmlscan import rebuild, scan

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"
STOCK_XML = sorted(SHARED.rglob("*.xml")) if SHARED.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(SHARED))


def test_the_stock_pack_has_the_files_the_engine_is_measured_on() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/wso2-conf is not here (a user's clone)")
    assert len(STOCK_XML) >= 60
    names = {p.name for p in STOCK_XML}
    assert {"carbon.xml", "registry.xml", "axis2.xml", "master-datasources.xml"} <= names


@pytest.mark.parametrize("path", STOCK_XML, ids=_id)
def test_every_stock_xml_file_round_trips_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    doc = XmlDoc(data, host="h", path=str(path))
    out = doc.serialize()
    assert out is not data
    assert out == data
    _spans_rebuild(doc)


def _spans_rebuild(doc: XmlDoc) -> None:
    """The spans give back the text (tags rebuilt from their attribute spans) and every
    element, comment and PI of the tree has its span."""
    top, _ = scan(doc.text)
    assert rebuild(doc.text, top) == doc.text
    nodes = [n for n in doc.root.iter()]
    assert all(doc.span(n).start < doc.span(n).end for n in nodes)


def test_all_stock_files_parse_and_serialize_unchanged() -> None:
    """(How long this takes is measured in benchmarks/bench_edits.py.)"""
    if not STOCK_XML:
        pytest.skip("../shared/wso2-conf is not here (a user's clone)")
    for path in STOCK_XML:
        data = path.read_bytes()
        assert XmlDoc(data).serialize() == data, _id(path)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.xml")))
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_own_fixtures_round_trip(name: str, crlf: bool) -> None:
    data = (FIXTURES / name).read_bytes()
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    doc = XmlDoc(data)
    assert doc.serialize() == data
    _spans_rebuild(doc)


def test_serializer_rebuilds_from_spans_and_splices_only_the_patch() -> None:
    data = b"<?xml version='1.0'?>\n<a  x = 'q&quot;'\n   y=\"2\" ><b>&#65;</b><!--c--><b/></a>\n"
    doc = XmlDoc(data)
    # a patch in the middle changes only those bytes; odd spacing/quotes elsewhere stay
    start = data.index(b"&#65;")
    out = doc.serialize([Patch(start, start + 5, "Z")])
    assert out == data.replace(b"&#65;", b"Z")


def test_utf8_bom_and_odd_declarations_survive() -> None:
    data = b"\xef\xbb\xbf<?xml version = '1.0'   encoding = 'UTF-8' ?>\r\n<r a='1'>\xc3\xa9</r>"
    assert XmlDoc(data).serialize() == data
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE r [ <!ELEMENT r ANY> ]>\n<r><![CDATA[<x>]]></r>\n'
    assert XmlDoc(doctype).serialize() == doctype
