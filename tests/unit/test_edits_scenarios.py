"""CHECKLIST edits on the stock 2.6.0 files and on our own look-alike fixtures."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from wizard.edits import NSMAP, Edit, apply_edits
from wizard.edits.xmlfile import XmlDoc

STOCK = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "edits"

DS = "/datasources-configuration/datasources"
AMP_URL = "jdbc:mysql://127.0.0.1:3306/apimgtdb?autoReconnect=true&useSSL=false"
DB_PASSWORD = "pa&ss<wörd>"


def datasource(name: str, jndi: str, url: str) -> dict:
    return {
        "datasource": {
            "name": name,
            "description": f"{name} on MySQL",
            "jndiConfig": {"name": jndi},
            "definition": {
                "@type": "RDBMS",
                "configuration": {
                    "url": url,
                    "username": "apimuser",
                    "password": DB_PASSWORD,
                    "driverClassName": "com.mysql.jdbc.Driver",
                    "maxActive": 50,
                    "maxWait": 60000,
                    "minIdle": 5,
                    "testOnBorrow": True,
                    "validationQuery": "SELECT 1",
                    "validationInterval": 30000,
                    "defaultAutoCommit": False,
                },
            },
        }
    }


def mount(path: str) -> dict:
    return {
        "mount": {
            "@path": path,
            "@overwrite": "true",
            "instanceId": "gov",
            "targetPath": path,
        }
    }


@dataclass
class Scenario:
    name: str
    stock: str  # path inside the pack
    fixture: str  # our own look-alike under fixtures/edits
    edits: list[Edit]
    checks: list[tuple[str, str]]  # XPath (namespace map) -> expected string value
    # changed lines in the diff (removed, added) for the stock file / the fixture
    stock_lines: tuple[int, int]
    fixture_lines: tuple[int, int]
    crlf: bool = False


SCENARIOS = [
    Scenario(
        "carbon-hostname-offset",
        "repository/conf/carbon.xml",
        "carbon.xml",
        [
            Edit("ins", "/c:Server/c:HostName", "apim.example.com"),
            Edit("ins", "c:MgtHostName", "mgt.example.com", parent="/c:Server"),
            Edit("set", "/c:Server/c:Ports/c:Offset", 3),
            Edit("set", "/c:Server/c:Cache/c:ForceLocalCache", True),
        ],
        [
            ("string(/c:Server/c:HostName)", "apim.example.com"),
            ("string(/c:Server/c:MgtHostName)", "mgt.example.com"),
            ("string(/c:Server/c:Ports/c:Offset)", "3"),
            ("string(/c:Server/c:Cache/c:ForceLocalCache)", "true"),
            # inserted right after the comment that holds it
            (
                "string(/c:Server/c:HostName/preceding-sibling::comment()[1])",
                "HostName>www.wso2.org</HostName",
            ),
        ],
        (2, 4),
        (2, 4),
    ),
    Scenario(
        "datasources-upsert-add",
        "repository/conf/datasources/master-datasources.xml",
        "master-datasources.xml",
        [
            Edit(
                "add",
                DS,
                datasource("WSO2AM_DB", "jdbc/WSO2AM_DB", AMP_URL),
                parent=DS,
                match="datasource[name='WSO2AM_DB']",
                secret=True,
            ),
            Edit(
                "add",
                DS,
                datasource("WSO2UM_DB", "jdbc/WSO2UM_DB", AMP_URL + "&x=<1>"),
                parent=DS,
                match="datasource[name='WSO2UM_DB']",
                secret=True,
            ),
            Edit(
                "verify",
                f"{DS}/datasource[name='WSO2_CARBON_DB']/jndiConfig/name",
                "jdbc/WSO2CarbonDB",
            ),
        ],
        [
            (f"string({DS}/datasource[name='WSO2AM_DB']//url)", AMP_URL),
            (f"string({DS}/datasource[name='WSO2AM_DB']//defaultAutoCommit)", "false"),
            (f"string({DS}/datasource[name='WSO2AM_DB']//password)", DB_PASSWORD),
            (f"count({DS}/datasource[name='WSO2AM_DB']//minIdle)", "1"),
            (f"string({DS}/datasource[name='WSO2UM_DB']//url)", AMP_URL + "&x=<1>"),
            (f"string({DS}/datasource[name='WSO2UM_DB']/jndiConfig/name)", "jdbc/WSO2UM_DB"),
            (f"count({DS}/datasource[name='WSO2UM_DB'])", "1"),
            (f"string({DS}/datasource[name='WSO2_CARBON_DB']//username)", "wso2carbon"),
            # the new datasource goes after the last live one, before the SAMPLE comment
            (f"name({DS}/datasource[last()]/preceding-sibling::*[1])", "datasource"),
        ],
        (6, 29),  # 6 values changed, minIdle + a 22-line datasource added
        (6, 33),  # the fixture's WSO2AM_DB also lacks maxWait, testOnBorrow, validation*
    ),
    Scenario(
        "registry-mounts-crlf",
        "repository/conf/registry.xml",
        "registry.xml",
        [
            Edit(
                "add",
                "/wso2registry",
                {"dbConfig": {"@name": "govregistry", "dataSource": "jdbc/WSO2REG_DB"}},
                parent="/wso2registry",
                after="dbConfig[@name='wso2registry']",
            ),
            Edit(
                "add",
                "/wso2registry",
                {
                    "remoteInstance": {
                        "@url": "https://127.0.0.2:9443/registry",
                        "id": "gov",
                        "dbConfig": "govregistry",
                        "readOnly": False,
                        "enableCache": True,
                        "registryRoot": "/",
                        "cacheId": "apim@jdbc:mysql://127.0.0.1:3306/regdb",
                    }
                },
                parent="/wso2registry",
                after="dbConfig[@name='govregistry']",
                match="remoteInstance[id='gov']",
            ),
            Edit(
                "add",
                "/wso2registry",
                mount("/_system/config"),
                parent="/wso2registry",
                after="remoteInstance[id='gov']",
            ),
            Edit(
                "add",
                "/wso2registry",
                mount("/_system/governance"),
                parent="/wso2registry",
                after="mount[@path='/_system/config']",
            ),
            Edit("verify", "/wso2registry/currentDBConfig", "wso2registry"),
        ],
        [
            ("string(/wso2registry/dbConfig[@name='govregistry']/dataSource)", "jdbc/WSO2REG_DB"),
            (
                "string(/wso2registry/dbConfig[@name='wso2registry']/dataSource)",
                "jdbc/WSO2CarbonDB",
            ),
            ("string(/wso2registry/remoteInstance/id)", "gov"),
            ("string(/wso2registry/mount[@path='/_system/config']/instanceId)", "gov"),
            ("string(/wso2registry/mount[2]/@path)", "/_system/governance"),
            (
                "name(/wso2registry/dbConfig[@name='wso2registry']/following-sibling::*[1])",
                "dbConfig",
            ),
            (
                "name(/wso2registry/dbConfig[@name='govregistry']/following-sibling::*[1])",
                "remoteInstance",
            ),
        ],
        (0, 19),
        (0, 19),
        crlf=True,
    ),
    Scenario(
        "axis2-clustering",
        "repository/conf/axis2/axis2.xml",
        "axis2.xml",
        [
            Edit("attr", "/axisconfig/clustering/@enable", True),
            Edit("set", "/axisconfig/clustering/parameter[@name='membershipScheme']", "wka"),
            Edit("set", "/axisconfig/clustering/parameter[@name='domain']", "wso2.am.domain"),
            Edit(
                "repl",
                "/axisconfig/clustering/members",
                {
                    "members": {
                        "member": [
                            {"hostName": "127.0.0.2", "port": 4000},
                            {"hostName": "127.0.0.3", "port": 4100},
                        ]
                    }
                },
            ),
        ],
        [
            ("string(/axisconfig/clustering/@enable)", "true"),
            (
                "string(/axisconfig/clustering/@class)",
                "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent",
            ),
            ("string(/axisconfig/clustering/parameter[@name='membershipScheme'])", "wka"),
            ("count(/axisconfig/clustering/members/member)", "2"),
            ("string(/axisconfig/clustering/members/member[2]/port)", "4100"),
            ("string(/axisconfig/clustering/members/member[1]/hostName)", "127.0.0.2"),
        ],
        (4, 8),
        (4, 8),
    ),
    Scenario(
        "api-manager-serverurl-by-parent",
        "repository/conf/api-manager.xml",
        "api-manager.xml",
        [
            Edit(
                "set",
                "/APIManager/APIGateway/Environments/Environment/ServerURL",
                "https://gw.example.com:9444${carbon.context}services/",
            ),
            Edit(
                "set",
                "/APIManager/AuthManager/ServerURL",
                "https://km.example.com:9443${carbon.context}services/",
            ),
            Edit("verify", "/APIManager/DataSourceName", "jdbc/WSO2AM_DB"),
        ],
        [
            (
                "string(/APIManager/APIGateway/Environments/Environment/ServerURL)",
                "https://gw.example.com:9444${carbon.context}services/",
            ),
            (
                "string(/APIManager/AuthManager/ServerURL)",
                "https://km.example.com:9443${carbon.context}services/",
            ),
            (
                "string(/APIManager/APIKeyValidator/ServerURL)",
                "https://localhost:${mgt.transport.https.port}${carbon.context}services/",
            ),
        ],
        (2, 2),
        (2, 2),
    ),
    Scenario(
        "catalina-proxyport",
        "repository/conf/tomcat/catalina-server.xml",
        "catalina-server.xml",
        [
            Edit("attr", "/Server/Service/Connector[@port='9443']", 443, attr="proxyPort"),
            Edit("attr", "/Server/Service/Connector[@port='9763']", 80, attr="proxyPort"),
        ],
        [
            ("string(/Server/Service/Connector[@port='9443']/@proxyPort)", "443"),
            ("string(/Server/Service/Connector[@port='9763']/@proxyPort)", "80"),
            ("string(/Server/Service/Connector[@port='9443']/@keystorePass)", "wso2carbon"),
        ],
        (2, 4),
        (2, 4),
    ),
    Scenario(
        "identity-oauth-urls",
        "repository/conf/identity/identity.xml",
        "identity.xml",
        [
            Edit(
                "set",
                "/c:Server/c:OAuth/c:OAuth2AuthzEPUrl",
                "${carbon.protocol}://gw.example.com:8243/authorize",
            ),
            Edit(
                "set",
                "/c:Server/c:OAuth/c:OAuth2TokenEPUrl",
                "${carbon.protocol}://gw.example.com:8243/token",
            ),
            Edit(
                "verify", "/c:Server/c:JDBCPersistenceManager/c:DataSource/c:Name", "jdbc/WSO2AM_DB"
            ),
        ],
        [
            (
                "string(/c:Server/c:OAuth/c:OAuth2AuthzEPUrl)",
                "${carbon.protocol}://gw.example.com:8243/authorize",
            ),
            (
                "string(/c:Server/c:OAuth/c:OAuth2TokenEPUrl)",
                "${carbon.protocol}://gw.example.com:8243/token",
            ),
        ],
        (2, 2),
        (2, 2),
    ),
]


# --- tests ----------------------------------------------------------------------------


def _source(kind: str, sc: Scenario) -> bytes:
    if kind == "stock":
        path = STOCK / sc.stock
        if not path.exists():
            pytest.skip("../shared/wso2-conf is not here (a user's clone)")
        return path.read_bytes()
    data = (FIXTURES / sc.fixture).read_bytes()
    return data.replace(b"\n", b"\r\n") if sc.crlf else data


def _changed_lines(before: bytes, after: bytes) -> tuple[int, int]:
    a = before.decode("latin-1").splitlines()
    b = after.decode("latin-1").splitlines()
    diff = list(difflib.unified_diff(a, b, lineterm="", n=0))
    minus = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    plus = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    return minus, plus


def _comments(data: bytes) -> list[str]:
    tree = etree.fromstring(data).getroottree()
    return [c.text for c in tree.xpath("//comment()")]


@pytest.mark.parametrize("kind", ["stock", "fixture"])
@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.name)
def test_checklist_edits_apply_read_back_and_keep_the_rest(sc: Scenario, kind: str) -> None:
    before = _source(kind, sc)
    result = apply_edits(sc.stock, before, sc.edits, host="node1")
    after = result.content
    assert result.changed
    root = etree.fromstring(after)
    for xpath, expected in sc.checks:
        value = root.xpath(xpath, namespaces=NSMAP)
        if isinstance(value, float):
            value = int(value)
        assert str(value) == expected, xpath
    # declaration (exact text), encoding, line endings and every comment survive
    first = before.split(b"\n", 1)[0]
    if first.startswith(b"<?xml"):
        assert after.split(b"\n", 1)[0] == first
    assert XmlDoc(after).codec == XmlDoc(before).codec
    assert _comments(after) == _comments(before)
    if sc.crlf:
        assert before.count(b"\n") == before.count(b"\r\n")
        assert after.count(b"\n") == after.count(b"\r\n"), "a line lost its CRLF"
    # only the edited lines differ
    expected_lines = sc.stock_lines if kind == "stock" else sc.fixture_lines
    assert _changed_lines(before, after) == expected_lines
    # applying the same edits again changes nothing
    again = apply_edits(sc.stock, after, sc.edits, host="node1")
    assert again.content == after
    assert not again.changed
    assert all(not o.changed and o.detail in ("unchanged", "as expected") for o in again.outcomes)
