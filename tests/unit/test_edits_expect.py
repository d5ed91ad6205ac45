"""``expect``: a value the guides leave as it is. Never an error, never a write; what an
admin changed is reported as a note (with the line), secrets masked."""

from __future__ import annotations

from wizard.edits import Edit, apply_edits
from wizard.secrets import MASK

DOC = b"""<APIManager>
    <DataSourceName>jdbc/WSO2AM_DB</DataSourceName>
    <APIKeyValidator>
        <Username>admin</Username>
        <Password>s3cret-literal</Password>
    </APIKeyValidator>
</APIManager>
"""
USER = "/APIManager/APIKeyValidator/Username"
PASSWORD = "/APIManager/APIKeyValidator/Password"


def test_a_value_the_placeholder_stands_for_is_accepted() -> None:
    result = apply_edits(
        "api-manager.xml", DOC, [Edit("expect", USER, ["${admin.username}", "admin"])]
    )
    assert not result.changed and result.notes() == []


def test_another_value_is_a_note_with_its_line_and_the_file_is_untouched() -> None:
    edits = [
        Edit("expect", USER, ["${admin.username}", "apimadmin"]),
        Edit("set", "/APIManager/DataSourceName", "jdbc/X"),
    ]
    result = apply_edits("api-manager.xml", DOC, edits)
    assert result.changed  # the set still applies around the note
    (note,) = result.notes()
    assert note.startswith("line 4: ") and "'admin'" in note and "left as is" in note
    assert b"<Username>admin</Username>" in result.content


def test_a_missing_element_is_a_note_not_an_error() -> None:
    result = apply_edits("api-manager.xml", DOC, [Edit("expect", "/APIManager/Nope", "x")])
    assert not result.changed
    assert result.notes() == ["/APIManager/Nope is not present (the guides expect 'x'); left as is"]


def test_a_password_is_never_shown_in_a_note() -> None:
    result = apply_edits("api-manager.xml", DOC, [Edit("expect", PASSWORD, "${admin.password}")])
    (note,) = result.notes()
    assert "s3cret-literal" not in note and MASK in note
