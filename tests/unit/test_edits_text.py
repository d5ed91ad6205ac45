"""site.json, .properties, the /etc/hosts block and replace_text: edit in place, rest intact."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from wizard.edits import Edit, apply_edits
from wizard.edits.jsonedit import decode, parse
from wizard.edits.textops import read_props
from wizard.errors import Where, WizardError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
APPS = "repository/deployment/server/jaggeryapps"


def _changed(before: bytes, after: bytes) -> tuple[int, int]:
    diff = list(
        difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), n=0)
    )
    minus = sum(1 for x in diff if x.startswith("-") and not x.startswith("---"))
    plus = sum(1 for x in diff if x.startswith("+") and not x.startswith("+++"))
    return minus, plus


def _strip_comments(text: str) -> dict:
    return decode(parse(text, Where()))


def _site_json_sources() -> list[tuple[str, bytes]]:
    out = [("fixture", (FIXTURES / "site.json").read_bytes())]
    for app in ("store", "publisher", "admin"):
        path = SHARED / APPS / app / "site" / "conf" / "site.json"
        if path.exists():
            out.append((app, path.read_bytes()))
    return out


@pytest.mark.parametrize(("name", "data"), _site_json_sources(), ids=lambda x: str(x)[:12])
def test_site_json_reverse_proxy_is_set_inside_the_object_only(name: str, data: bytes) -> None:
    edit = Edit(
        "json", "reverseProxy", {"enabled": True, "host": "lb.example.com", "context": "/x"}
    )
    result = apply_edits("site.json", data, [edit], host="n1")
    before = _strip_comments(data.decode())
    after = _strip_comments(result.content.decode())
    assert after["reverseProxy"]["enabled"] is True
    assert after["reverseProxy"]["host"] == "lb.example.com"
    assert after["reverseProxy"]["context"] == "/x"
    assert after.get("context") == before.get("context")  # the top-level one is untouched
    after["reverseProxy"] = before["reverseProxy"]
    assert after == before
    assert _changed(data, result.content) == (3, 3)  # one line per key, comments kept
    assert result.content.count(b"//") == data.count(b"//")
    again = apply_edits("site.json", result.content, [edit], host="n1")
    assert again.content == result.content and not again.changed


def test_site_json_missing_key_is_inserted_after_the_last_member() -> None:
    data = (FIXTURES / "site.json").read_bytes()
    edit = Edit("json", "reverseProxy", {"regContext": "/registry", "port": 443})
    out = apply_edits("site.json", data, [edit]).content.decode()
    assert '    "context":"",\n    "regContext":"/registry"\n    "port":443\n' not in out
    assert (
        '    "context":"",\n    "regContext":"/registry",\n    "port":443\n'
        '    //"regContext":"" // Use only'
    ) in out
    assert _strip_comments(out)["reverseProxy"]["port"] == 443
    nested = Edit("json", "", {"ssoConfiguration": {"enabled": "true"}})
    out2 = apply_edits("site.json", data, [nested]).content.decode()
    assert _strip_comments(out2)["ssoConfiguration"] == {
        "enabled": "true",
        "loginUserNameAttribute": "",
    }


def test_site_json_errors_name_the_keys_that_exist() -> None:
    data = (FIXTURES / "site.json").read_bytes()
    with pytest.raises(WizardError) as info:
        apply_edits("site.json", data, [Edit("json", "reverseProxi", {"a": 1})], host="n1")
    assert "'reverseProxi' is absent; keys there: theme, context" in info.value.what
    with pytest.raises(WizardError) as info:
        apply_edits("s.json", b'{"a": 1,, }', [Edit("json", "", {"a": 2})], host="n1")
    assert (info.value.where.line, info.value.where.column) == (1, 9)


def test_properties_set_keeps_comments_order_separators_and_continuations() -> None:
    data = (FIXTURES / "jndi.properties").read_bytes().replace(b"\n", b"\r\n")
    url = "amqp://admin:admin@clientid/carbon?brokerlist='tcp://127.0.0.3:5673'"
    edits = [
        Edit("prop", "connectionfactory.TopicConnectionFactory", url),
        Edit("prop", "connectionfactory.QueueConnectionFactory", url),
        Edit("prop", "topic.new", "ünïcode \\ and = signs"),
    ]
    result = apply_edits("repository/conf/jndi.properties", data, edits)
    out = result.content.decode("latin-1")
    props = read_props(out)
    assert props["connectionfactory.TopicConnectionFactory"] == url
    assert props["connectionfactory.QueueConnectionFactory"] == url
    assert props["topic.new"] == "ünïcode \\ and = signs"
    assert props["topic.throttleData"] == "throttleData"
    assert out.count("\r\n") == out.count("\n")  # CRLF kept, appended line too
    assert out.startswith("# register some connection factories\r\n")
    assert f"connectionfactory.TopicConnectionFactory = {url}\r\n" in out
    assert out.endswith("topic.new = \\u00FCn\\u00EFcode \\\\ and = signs\r\n")
    assert result.content.isascii()
    again = apply_edits("jndi.properties", result.content, edits)
    assert again.content == result.content and not again.changed


def test_hosts_block_is_idempotent_and_leaves_other_lines_alone() -> None:
    hosts = b"127.0.0.1\tlocalhost\n# keep me\n10.0.0.1 other\n"
    first = Edit("hosts", "apim", ["127.0.0.5 lb.example.com", "127.0.0.6 db.example.com"])
    one = apply_edits("/etc/hosts", hosts, [first], host="n1").content
    assert one == hosts + (
        b"# BEGIN carbon-wizard apim\n127.0.0.5 lb.example.com\n127.0.0.6 db.example.com\n"
        b"# END carbon-wizard apim\n"
    )
    assert apply_edits("/etc/hosts", one, [first]).changed is False
    other = Edit("hosts", "km", ["127.0.0.9 km.example.com"])
    two = apply_edits(
        "/etc/hosts", one + b"# after\n", [Edit("hosts", "apim", ["1.2.3.4 x"]), other]
    )
    text = two.content.decode()
    assert text.startswith("127.0.0.1\tlocalhost\n# keep me\n10.0.0.1 other\n")
    assert "# BEGIN carbon-wizard apim\n1.2.3.4 x\n# END carbon-wizard apim\n# after\n" in text
    assert text.endswith(
        "# BEGIN carbon-wizard km\n127.0.0.9 km.example.com\n# END carbon-wizard km\n"
    )
    broken = b"# BEGIN carbon-wizard apim\n1.2.3.4 x\n"
    with pytest.raises(WizardError) as info:
        apply_edits("/etc/hosts", broken, [first], host="n1")
    assert "broken" in info.value.what and info.value.where.host == "n1"


def test_replace_text_lists_hits_and_is_idempotent_even_when_the_value_contains_it() -> None:
    data = b"<seq>\n<a href='https://km:9443/x'/>\n<b>https://km:9443/y</b>\n</seq>\n"
    edit = Edit("replace_text", "https://km:9443", "https://km:9443.lb")
    result = apply_edits("seq.xml.txt", data, [edit])
    assert result.outcomes[0].detail == "2 hit(s) at lines [2, 3]"
    assert result.content.count(b"https://km:9443.lb") == 2
    again = apply_edits("seq.xml.txt", result.content, [edit])
    assert again.content == result.content and again.outcomes[0].detail == "unchanged"
    with pytest.raises(WizardError):
        apply_edits("seq", data, [Edit("replace_text", "nowhere", "qqq")])


def test_non_utf8_bytes_in_a_text_file_survive_an_edit() -> None:
    data = b"# caf\xe9\nk=v\n"
    out = apply_edits("x.properties", data, [Edit("prop", "k", "w")]).content
    assert out == b"# caf\xe9\nk=w\n"


def test_site_json_with_crlf_gets_crlf_for_an_inserted_key() -> None:
    data = (FIXTURES / "site.json").read_bytes().replace(b"\n", b"\r\n")
    edit = Edit("json", "reverseProxy", {"enabled": "auto", "regContext": "/r"})
    out = apply_edits("site.json", data, [edit]).content
    assert out.count(b"\n") == out.count(b"\r\n") == data.count(b"\n") + 1
    assert b'    "enabled" : "auto",    // values true' in out
    assert b'    "context":"",\r\n    "regContext":"/r"\r\n    //"regContext"' in out
