"""``optional`` edits: "set if live" (CHECKLIST OBK-E29/OBK-A07)."""

from __future__ import annotations

from wizard.edits import Edit, apply_edits

DOC = b"""<APIManager>
    <!--APIKeyManager>
        <Configuration><ServerURL>https://localhost:9443/services/</ServerURL></Configuration>
    </APIKeyManager-->
    <AuthManager>
        <ServerURL>https://localhost:9443/services/</ServerURL>
    </AuthManager>
</APIManager>
"""
LIVE = DOC.replace(b"<!--APIKeyManager>", b"<APIKeyManager>").replace(
    b"</APIKeyManager-->", b"</APIKeyManager>"
)
KM = Edit(
    "set",
    "/APIManager/APIKeyManager/Configuration/ServerURL",
    "https://km.example.com/services/",
    optional=True,
)
AUTH = Edit("set", "/APIManager/AuthManager/ServerURL", "https://km.example.com/services/")


def test_optional_edit_on_commented_block_is_reported_and_file_untouched_there() -> None:
    result = apply_edits("api-manager.xml", DOC, [KM, AUTH])
    assert result.outcomes[0].changed is False
    assert result.outcomes[0].detail == "not present, left as is"
    assert b"<!--APIKeyManager>" in result.content  # never uncommented
    assert b"<ServerURL>https://km.example.com/services/</ServerURL>\n    </AuthManager>" in (
        result.content
    )


def test_optional_edit_applies_when_live_and_is_idempotent() -> None:
    result = apply_edits("api-manager.xml", LIVE, [KM])
    assert result.changed and b"https://km.example.com/services/" in result.content
    again = apply_edits("api-manager.xml", result.content, [KM])
    assert not again.changed


def test_from_mapping_accepts_optional() -> None:
    e = Edit.from_mapping({"op": "set", "locator": "/a", "value": "x", "optional": True})
    assert e.optional
