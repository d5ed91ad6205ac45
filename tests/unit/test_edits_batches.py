"""Edits of one file computed in batches give the bytes of one edit at a time.

A batch is computed on one parse; an edit that needs what an earlier edit adds, or whose
result an earlier one changes, must end the batch or send the file back to one edit at a
time. These cases are built so that a naive batch would write a different file."""

from __future__ import annotations

import pytest

from wizard.edits import Edit, apply_edits
from wizard.edits import apply as apply_mod
from wizard.edits.apply import _one_by_one
from wizard.edits.xmlfile import XmlDoc

DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<Server>
    <!--HostName>www.wso2.org</HostName-->
    <Ports>
        <Offset>0</Offset>
    </Ports>
    <list>
        <item name="a">1</item>
    </list>
</Server>
"""


FALLBACKS: list[int] = []


@pytest.fixture(autouse=True)
def _count_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    FALLBACKS.clear()

    def counted(doc: XmlDoc, edits: list[Edit]):  # type: ignore[no-untyped-def]
        FALLBACKS.append(len(edits))
        return _one_by_one(doc, edits)

    monkeypatch.setattr(apply_mod, "_one_by_one", counted)


def both(edits: list[dict]) -> tuple[bytes, bytes]:
    parsed = [Edit.from_mapping(e) for e in edits]
    batched = apply_edits("carbon.xml", DOC, parsed).content
    doc, _, _ = _one_by_one(XmlDoc(DOC), parsed)
    return batched, doc.data


def test_an_edit_inside_an_element_the_batch_adds_waits_for_it() -> None:
    batched, one = both(
        [
            {
                "op": "add",
                "locator": "/Server/list/item[@name='b']",
                "parent": "/Server/list",
                "value": {"item": {"@name": "b", "#text": "2"}},
            },
            {"op": "attr", "locator": "/Server/list/item[@name='b']/@id", "value": "x"},
        ]
    )
    assert batched == one
    assert b'<item name="b" id="x">2</item>' in batched
    assert FALLBACKS == []  # the batch ended at the edit that did not find its element


def test_an_edit_that_would_duplicate_what_the_batch_inserts_falls_back() -> None:
    # ins uncomments-or-inserts HostName; the upsert of Server below it must then find
    # that HostName and set it, not add a second one
    batched, one = both(
        [
            {"op": "ins", "locator": "/Server/HostName", "value": "a.example.com"},
            {
                "op": "upsert",
                "locator": "/Server",
                "value": {"Server": {"HostName": "a.example.com", "MgtHostName": "m.example.com"}},
            },
        ]
    )
    assert batched == one
    assert batched.count(b"<HostName>") == 1 and b"<MgtHostName>m.example.com<" in batched
    assert FALLBACKS == [2]  # the batch's check found two HostName: one edit at a time


def test_two_insertions_at_one_point_keep_the_one_at_a_time_order() -> None:
    item = {"op": "add", "parent": "/Server/list"}
    batched, one = both(
        [
            {**item, "locator": "item[@name='b']", "value": {"item": {"@name": "b", "#text": "2"}}},
            {**item, "locator": "item[@name='c']", "value": {"item": {"@name": "c", "#text": "3"}}},
            {"op": "set", "locator": "/Server/Ports/Offset", "value": "1"},
        ]
    )
    assert batched == one
    assert batched.index(b'name="b"') < batched.index(b'name="c"')


def test_a_second_edit_of_the_same_element_sees_the_first() -> None:
    batched, one = both(
        [
            {"op": "set", "locator": "/Server/Ports/Offset", "value": "1"},
            {"op": "attr", "locator": "/Server/Ports/Offset/@unit", "value": "ports"},
        ]
    )
    assert batched == one and b'<Offset unit="ports">1</Offset>' in batched
