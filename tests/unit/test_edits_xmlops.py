"""Op semantics on small documents: what each op writes, where, and with which indentation."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from wizard.edits import NSMAP, Edit, apply_edits


def _apply(data: str, *edits: Edit) -> str:
    result = apply_edits("t.xml", data.encode(), list(edits), host="h")
    again = apply_edits("t.xml", result.content, list(edits), host="h")
    assert again.content == result.content and not again.changed
    return result.content.decode()


def test_set_on_a_self_closing_element_and_on_cdata() -> None:
    out = _apply(
        "<r>\n  <a x='1' />\n  <b><![CDATA[<old>]]></b>\n</r>",
        Edit("set", "/r/a", "v"),
        Edit("set", "/r/b", "<new>"),
    )
    assert out == "<r>\n  <a x='1'>v</a>\n  <b>&lt;new&gt;</b>\n</r>"


def test_attr_added_after_the_last_attribute_with_its_spacing() -> None:
    out = _apply(
        '<r>\n  <c a="1"\n     b="2"/>\n  <d/>\n</r>',
        Edit("attr", "/r/c", "3", attr="z"),
        Edit("attr", "/r/d", "4", attr="y"),
    )
    assert out == '<r>\n  <c a="1"\n     b="2"\n     z="3"/>\n  <d y="4"/>\n</r>'


def test_attr_value_keeps_its_quote_style() -> None:
    out = _apply(
        "<r a='1' b=\"2\"/>", Edit("attr", "/r/@a", "it's"), Edit("attr", "/r/@b", 'say "x"')
    )
    assert out == "<r a='it&apos;s' b=\"say &quot;x&quot;\"/>"


def test_repl_into_empty_elements_and_to_nothing() -> None:
    spec = {"members": {"member": [{"hostName": "a"}, {"hostName": "b"}]}}
    out = _apply("<c>\n    <members/>\n</c>", Edit("repl", "/c/members", spec))
    assert out == (
        "<c>\n    <members>\n        <member>\n            <hostName>a</hostName>\n"
        "        </member>\n        <member>\n            <hostName>b</hostName>\n"
        "        </member>\n    </members>\n</c>"
    )
    out2 = _apply(
        "<c>\n  <members>\n    <!-- keep -->\n    <m>1</m>\n    <m>2</m>\n  </members>\n</c>",
        Edit("repl", "/c/members", {"members": {}}),
    )
    assert out2 == "<c>\n  <members>\n    <!-- keep -->\n  </members>\n</c>"


def test_add_into_an_empty_parent_and_upsert_of_repeated_children_by_attribute() -> None:
    out = _apply(
        "<r>\n\t<list></list>\n</r>",
        Edit("add", "/r/list", {"i": {"@n": "1", "#text": "x"}}, parent="/r/list"),
    )
    assert out == '<r>\n\t<list>\n\t\t<i n="1">x</i>\n\t</list>\n</r>'
    doc = '<r>\n  <p name="a">1</p>\n  <p name="b">2</p>\n</r>'
    spec = {"r": {"p": [{"@name": "b", "#text": "20"}, {"@name": "c", "#text": "30"}]}}
    out2 = _apply(doc, Edit("upsert", "/r", spec))
    assert out2 == '<r>\n  <p name="a">1</p>\n  <p name="b">20</p>\n  <p name="c">30</p>\n</r>'


def test_namespaced_specs_use_the_in_scope_prefix_or_declare_one() -> None:
    carbonish = '<Server xmlns="http://wso2.org/projects/carbon/carbon.xml">\n  <A/>\n</Server>'
    out = _apply(
        carbonish, Edit("add", "/c:Server", {"c:B": {"C": "1"}}, parent="/c:Server", match="c:B")
    )
    assert "<B>\n    <C>1</C>\n  </B>" in out
    root = etree.fromstring(out.encode())
    assert root.xpath("string(/c:Server/c:B/c:C)", namespaces=NSMAP) == "1"
    plain = "<r>\n  <a/>\n</r>"
    out2 = _apply(plain, Edit("add", "/r", {"svns:x": "1"}, parent="/r", match="svns:x"))
    assert '<svns:x xmlns:svns="http://org.wso2.securevault/configuration">1</svns:x>' in out2


def test_ins_appends_when_no_comment_holds_it_and_sets_a_live_one() -> None:
    doc = "<r>\n  <a>1</a>\n  <!-- the element b is optional -->\n</r>"
    out = _apply(doc, Edit("ins", "/r/b", "2"))
    assert out == "<r>\n  <a>1</a>\n  <b>2</b>\n  <!-- the element b is optional -->\n</r>"
    live = _apply("<r>\n  <!--b>x</b-->\n  <b>old</b>\n</r>", Edit("ins", "/r/b", "new"))
    assert live == "<r>\n  <!--b>x</b-->\n  <b>new</b>\n</r>"


def test_verify_reads_attributes_too_and_writes_nothing() -> None:
    doc = '<a enable="false"><b> x </b></a>'
    result = apply_edits(
        "t.xml", doc.encode(), [Edit("verify", "/a/@enable", "false"), Edit("verify", "/a/b", "x")]
    )
    assert not result.changed and [o.detail for o in result.outcomes] == ["as expected"] * 2


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"
DS = "/datasources-configuration/datasources"


def test_datasource_url_ampersand_and_password_are_escaped_and_masked() -> None:
    url = "jdbc:mysql://127.0.0.1:3306/userdb?autoReconnect=true&useSSL=false"
    spec = {
        "datasource": {
            "name": "WSO2UM_DB",
            "jndiConfig": {"name": "jdbc/WSO2UM_DB"},
            "definition": {
                "@type": "RDBMS",
                "configuration": {"url": url, "password": "pa&ss<wörd>"},
            },
        }
    }
    edit = Edit("add", DS, spec, parent=DS, match="datasource[name='WSO2UM_DB']", secret=True)
    result = apply_edits(
        "md.xml", (FIXTURES / "master-datasources.xml").read_bytes(), [edit], host="node1"
    )
    text = result.content.decode("utf-8")
    assert "autoReconnect=true&amp;useSSL=false" in text
    assert "<password>pa&amp;ss&lt;wörd&gt;</password>" in text
    diff = result.diff()
    assert diff.startswith("--- node1:md.xml\n+++ node1:md.xml\n")
    assert "wörd" not in diff and "pa&amp;ss" not in diff
    assert "+                    <password>********</password>" in diff
    # after the last live datasource, before the SAMPLE comment, parent close aligned
    assert text.endswith(
        "        </datasource>\n\n        <!--datasource>\n            <name>SAMPLE_DATA_SOURCE"
        "</name>\n        </datasource-->\n    </datasources>\n</datasources-configuration>\n"
    )
    assert "        </datasource>\n        <datasource>\n            <name>WSO2UM_DB</name>" in text


def test_registry_mount_in_crlf_latin1_file_gets_sibling_indentation() -> None:
    data = (FIXTURES / "registry.xml").read_bytes().replace(b"\n", b"\r\n")
    edit = Edit(
        "add",
        "/wso2registry",
        {"dbConfig": {"@name": "govregistry", "dataSource": "jdbc/WSO2REG_DB"}},
        parent="/wso2registry",
        after="dbConfig[@name='wso2registry']",
    )
    after = apply_edits("registry.xml", data, [edit]).content.decode("latin-1")
    assert (
        '    </dbConfig>\r\n    <dbConfig name="govregistry">\r\n'
        "        <dataSource>jdbc/WSO2REG_DB</dataSource>\r\n    </dbConfig>\r\n\r\n"
        "    <!--remoteInstance"
    ) in after
    assert after.endswith("</wso2registry>\r\n")


def test_hostname_goes_right_after_its_comment_which_stays() -> None:
    data = (FIXTURES / "carbon.xml").read_bytes()
    edit = Edit("ins", "/c:Server/c:HostName", "apim.example.com")
    after = apply_edits("carbon.xml", data, [edit]).content.decode("latin-1")
    assert (
        "    <!--HostName>www.wso2.org</HostName-->\n    <HostName>apim.example.com</HostName>\n"
        in after
    )
    assert "café" in after  # the latin-1 byte of the comment is untouched


def test_create_only_children_are_written_with_a_new_element_never_updated() -> None:
    """``?tag``: a datasource the admin has keeps its name, description and JNDI name;
    one that is not there is created whole; the same edit is in place either way."""
    doc = (
        b"<datasources-configuration><datasources>\n"
        b"    <datasource>\n        <name>MY_AM</name>\n"
        b"        <description>the admin's own words</description>\n"
        b"        <jndiConfig><name>jdbc/WSO2AM_DB</name></jndiConfig>\n"
        b'        <definition type="RDBMS"><configuration><url>jdbc:h2:x</url>'
        b"</configuration></definition>\n    </datasource>\n"
        b"</datasources></datasources-configuration>\n"
    )

    def edit(jndi: str) -> Edit:
        spec = {"datasource": {
            "?name": "WSO2AM_DB", "?description": "ours", "?jndiConfig": {"name": jndi},
            "definition": {"@type": "RDBMS", "configuration": {"url": "jdbc:mysql://db/am"}}}}  # fmt: skip
        return Edit("add", f"/x/datasource[jndiConfig/name='{jndi}']", spec,
                    parent="/datasources-configuration/datasources",
                    match=f"datasource[jndiConfig/name='{jndi}']")  # fmt: skip

    found = apply_edits("m.xml", doc, [edit("jdbc/WSO2AM_DB")])
    text = found.content.decode()
    assert "<url>jdbc:mysql://db/am</url>" in text
    assert "<name>MY_AM</name>" in text and "the admin's own words" in text and "ours" not in text
    added = apply_edits("m.xml", doc, [edit("jdbc/WSO2UM_DB")])
    text = added.content.decode()
    assert text.count("<datasource>") == 2 and "<description>ours</description>" in text
    assert "<jndiConfig>" in text and "<name>jdbc/WSO2UM_DB</name>" in text
    for result, jndi in ((found, "jdbc/WSO2AM_DB"), (added, "jdbc/WSO2UM_DB")):
        assert not apply_edits("m.xml", result.content, [edit(jndi)]).changed
