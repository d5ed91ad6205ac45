"""The fake product pack: layout, the traits of the real files, and real boots (no database)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.lab import pack
from wizard.wait import poll

REPO = Path(__file__).resolve().parents[2]
STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
LOG = "repository/logs/wso2carbon.log"
CARBON_NS = "{http://wso2.org/projects/carbon/carbon.xml}"


def java_home() -> Path:
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (a JDK) is not installed")
    return Path(keytool).resolve().parents[1]


@pytest.fixture(scope="module")
def keystores(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home())
    return folder


@pytest.fixture()
def home(tmp_path, keystores) -> Path:
    return pack.install_pack(tmp_path / pack.PRODUCT_DIRNAME, keystores=keystores, boot_delay=0.3)


# ------------------------------------------------------------------ boot helpers

BASE_PORTS = (9443, 9763, 8243, 8280, 5672, 9611, 9711, 10397)


def port_free(port: int) -> bool:
    try:
        with socket.create_server(("127.0.0.1", port)):
            return True
    except OSError:
        return False


def free_offset() -> int:
    """An offset in 700..999 whose ports are all free now (other suites may run alongside)."""
    for offset in random.sample(range(700, 1000), 300):
        if all(port_free(base + offset) for base in BASE_PORTS):
            return offset
    pytest.skip("no free port offset in 700..999")


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def server_env(node: str = "unit-node") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARBON_", "FAKECARBON_"))}
    env.update(
        JAVA_HOME=str(java_home()),
        CARBON_BIND_ADDRESS="127.0.0.1",
        CARBON_NODE_NAME=node,
        CARBON_FAKE_BOOT_DELAY="0.3",
    )
    return env


def log_text(home: Path) -> str:
    path = home / LOG
    return path.read_text(encoding="utf-8") if path.exists() else ""


def boot(
    home: Path, *args: str, node: str = "unit-node", env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(home / "bin" / "wso2server.sh"), *args],
        env={**server_env(node), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wait_started(home: Path, proc: subprocess.Popen[str]) -> None:
    def probe() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{log_text(home)}")
        return "WSO2 Carbon started in" in log_text(home)

    poll(probe, deadline=20, what="fake Carbon boot")


def stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


def refused(
    home: Path, *args: str, line: str = " ERROR {", env: dict[str, str] | None = None
) -> str:
    """Boot until ``line`` is logged: like a real 2.6.0 node, the fake does not exit when its
    start fails; it keeps running (pid file in place) and never logs ``WSO2 Carbon
    started``, and stops cleanly on SIGTERM."""
    proc = boot(home, *args, env=env)
    try:
        poll(lambda: proc.poll() is not None or line in log_text(home), deadline=20, what=line)
        assert proc.poll() is None, f"exited {proc.returncode}:\n{log_text(home)}"
        assert (home / "wso2carbon.pid").read_text().strip() == str(proc.pid)
    finally:
        code = stop(proc)
    assert code == 0
    text = log_text(home)
    assert "WSO2 Carbon started" not in text
    return text


def set_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ------------------------------------------------------------------ layout


def test_install_creates_the_product_layout(home, keystores):
    assert home.name == "wso2am-2.6.0" == pack.PRODUCT_DIRNAME
    for rel in [
        "bin/wso2server.sh",
        "bin/fakecarbon.py",
        "bin/fakecarbon_checks.py",
        "bin/fakecarbon_cluster.py",
        "bin/fakecarbon_consumers.py",
        "bin/fakecarbon_profile.py",
        "bin/profileSetup.sh",
        "bin/fakecarbon_ds.py",
        "bin/fakecarbon_hosts.py",
        "bin/fakecarbon_node.py",
        "bin/fakecarbon_services.py",
        "bin/fakecarbon_net.py",
        "bin/fakecarbon.conf",
        "repository/conf/carbon.xml",
        "repository/conf/datasources/master-datasources.xml",
        "repository/conf/datasources/metrics-datasources.xml",
        "repository/conf/user-mgt.xml",
        "repository/conf/registry.xml",
        "repository/conf/api-manager.xml",
        "repository/conf/axis2/axis2.xml",
        "repository/conf/tomcat/catalina-server.xml",
        "repository/conf/identity/identity.xml",
        "repository/conf/identity/application-authentication.xml",
        "repository/conf/identity/EndpointConfig.properties",
        "repository/conf/jndi.properties",
        "repository/conf/broker.xml",
        "repository/conf/data-bridge/data-bridge-config.xml",
        "repository/deployment/server/eventpublishers/jmsEventPublisher.xml",
        "repository/deployment/server/synapse-configs/default/synapse.xml",
        "repository/deployment/server/synapse-configs/default/inbound-endpoints/"
        "WebSocketInboundEndpoint.xml",
        *(f"repository/deployment/server/webapps/{w}" for w in pack.WEBAPPS),
        "repository/resources/security/wso2carbon.jks",
        "repository/resources/security/client-truststore.jks",
        "dbscripts/mysql.sql",
        "dbscripts/mysql5.7.sql",
        "dbscripts/apimgt/mysql.sql",
        "dbscripts/apimgt/mysql5.7.sql",
    ] + [
        f"repository/deployment/server/jaggeryapps/{a}/site/conf/site.json"
        for a in ("store", "publisher", "admin")
    ]:
        assert (home / rel).is_file(), rel
    for folder in ("repository/components/lib", "repository/logs"):
        assert (home / folder).is_dir()
    for script in ("bin/wso2server.sh", "bin/profileSetup.sh", "bin/fakecarbon.py"):
        assert os.access(home / script, os.X_OK)
    assert (home / "bin/fakecarbon.conf").read_text().splitlines()[-1] == "boot_delay = 0.3"
    assert (home / "repository/resources/security/wso2carbon.jks").read_bytes() == (
        keystores / "wso2carbon.jks"
    ).read_bytes()


def test_reinstall_replaces_the_home_cleanly(home, keystores):
    (home / "repository/conf/carbon.xml").write_text("edited")
    (home / "stray.txt").write_text("left over")
    again = pack.install_pack(home, keystores=keystores, boot_delay=1.0)
    assert again == home
    assert not (home / "stray.txt").exists()
    assert (home / "repository/conf/carbon.xml").read_text(encoding="latin-1").startswith("<?xml")
    assert "boot_delay = 1.0" in (home / "bin/fakecarbon.conf").read_text()


def test_the_webapps_are_real_wars_with_the_same_bytes_at_every_install(home, tmp_path):
    other = tmp_path / "again"
    pack.make_webapps(other)
    for name in pack.WEBAPPS:
        war = home / pack.WEBAPPS_REL / name
        assert war.read_bytes() == (other / name).read_bytes(), name
        with zipfile.ZipFile(war) as z:
            assert z.namelist() == ["WEB-INF/web.xml"]
            assert z.getinfo("WEB-INF/web.xml").date_time == (2018, 9, 14, 0, 0, 0)


def test_install_refuses_to_wipe_a_folder_that_is_not_a_home(tmp_path, keystores):
    precious = tmp_path / "user-home"
    precious.mkdir()
    (precious / ".ssh").mkdir()
    with pytest.raises(WizardError, match="not a product home"):
        pack.install_pack(precious, keystores=keystores)
    assert (precious / ".ssh").is_dir()


def test_install_needs_the_keystores(tmp_path):
    with pytest.raises(WizardError, match="wso2carbon.jks is missing"):
        pack.install_pack(tmp_path / "h", keystores=tmp_path)


def test_stock_keystores_hold_the_stock_entries(keystores):
    def listing(store: str) -> str:
        pw = keystores / "pw.txt"
        pw.write_text("wso2carbon")
        try:
            out = subprocess.run(
                [str(java_home() / "bin/keytool"), "-list", "-v", "-keystore",
                 str(keystores / store), "-storepass:file", str(pw)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        finally:
            pw.unlink()
        return out

    ks = listing("wso2carbon.jks")
    assert "Keystore type: JKS" in ks
    assert "Alias name: wso2carbon" in ks and "Entry type: PrivateKeyEntry" in ks
    assert "Owner: CN=localhost" in ks and "2048-bit RSA key" in ks
    ts = listing("client-truststore.jks")
    assert "Alias name: wso2carbon" in ts and "Entry type: trustedCertEntry" in ts


def test_driver_jar_is_a_zip_with_the_driver_class(tmp_path):
    jar = pack.make_driver_jar(tmp_path)
    assert jar.name == "mysql-connector-java-5.1.49.jar"
    with zipfile.ZipFile(jar) as z:
        names = z.namelist()
        assert "META-INF/MANIFEST.MF" in names
        assert "com/mysql/jdbc/Driver.class" in names
        assert z.read("com/mysql/jdbc/Driver.class")[:4] == b"\xca\xfe\xba\xbe"
    named = pack.make_driver_jar(tmp_path / "x" / "mysql-connector-j-8.0.33.jar")
    assert named.is_file() and zipfile.is_zipfile(named)


# ------------------------------------------------------------------ traits of the files


def declaration(path: Path) -> str:
    return path.read_bytes().split(b"\n", 1)[0].decode("ascii").rstrip("\r")


def test_declarations_and_encodings(home):
    conf = home / "repository/conf"
    iso = '<?xml version="1.0" encoding="ISO-8859-1"?>'
    for rel in ["carbon.xml", "registry.xml", "axis2/axis2.xml",
                "identity/application-authentication.xml"]:  # fmt: skip
        assert declaration(conf / rel) == iso, rel
    assert declaration(conf / "tomcat/catalina-server.xml") == (
        "<?xml version='1.0' encoding='utf-8'?>"
    )
    for rel in ["datasources/master-datasources.xml", "api-manager.xml"]:
        assert not (conf / rel).read_text().startswith("<?xml"), rel
    md = (conf / "datasources/master-datasources.xml").read_text()
    assert md.startswith('<datasources-configuration xmlns:svns="http://org.wso2.securevault/')
    assert "&amp;" not in re.sub(r"<!--.*?-->", "", md, flags=re.S)
    assert "SAMPLE_DATA_SOURCE" in md


def test_registry_is_crlf_with_the_stock_shape(home):
    raw = (home / "repository/conf/registry.xml").read_bytes()
    lines = raw.split(b"\n")[:-1]
    assert lines and all(line.endswith(b"\r") for line in lines)
    root = ET.fromstring(raw)
    assert root.findtext("currentDBConfig") == "wso2registry"
    assert [e.get("name") for e in root.findall("dbConfig")] == ["wso2registry"]
    assert root.findall("remoteInstance") == [] and root.findall("mount") == []
    assert b"<!--" in raw and b"<remoteInstance" in raw and b"<mount path" in raw
    # twice, both direct children of the root, as in the product (CHECKLIST REG, OBA-E13)
    assert [e.text for e in root.findall("versionResourcesOnChange")] == ["false", "false"]
    kids = [c.tag for c in root if isinstance(c.tag, str)]
    first = kids.index("versionResourcesOnChange")
    assert kids[first + 1 :].count("versionResourcesOnChange") == 1
    assert "staticConfiguration" in kids[first:]


def test_carbon_xml_hostname_only_in_comments(home):
    path = home / "repository/conf/carbon.xml"
    text = path.read_text(encoding="latin-1")
    assert "<!--HostName>www.wso2.org</HostName-->" in text
    assert "<!--MgtHostName>" in text
    root = ET.parse(path).getroot()
    assert root.tag == f"{CARBON_NS}Server"
    assert root.find(f"{CARBON_NS}HostName") is None
    assert root.findtext(f"{CARBON_NS}Ports/{CARBON_NS}Offset") == "0"
    assert root.findtext(f"{CARBON_NS}Cache/{CARBON_NS}ForceLocalCache") == "false"
    ks = root.find(f"{CARBON_NS}Security/{CARBON_NS}KeyStore")
    assert ks.findtext(f"{CARBON_NS}Location").startswith("${carbon.home}/")
    assert [c.tag.split("}")[1] for c in ks] == [
        "Location", "Type", "Password", "KeyAlias", "KeyPassword"]  # fmt: skip


def test_api_manager_has_four_server_urls_chosen_by_parent(home):
    path = home / "repository/conf/api-manager.xml"
    root = ET.parse(path).getroot()
    assert next(iter(root)).tag == "DataSourceName"
    parents = [p.tag for p in root.iter() for c in p if c.tag == "ServerURL"]
    assert parents == ["AuthManager", "Environment", "APIKeyValidator", "APIStore"]
    assert [e.get("type") for e in root.iter("Environment")] == ["hybrid"]
    assert root.find("APIKeyManager") is None
    text = path.read_text()
    assert "<!--APIKeyManager>" in text and "<!--ThriftClientPort>" in text
    for xpath in ["APIStore/URL", "APIPublisher/URL", "OAuthConfigurations/RevokeAPIURL",
                  "APIKeyValidator/ThriftServerHost", "APIKeyValidator/EnableThriftServer",
                  "ThrottlingConfigurations/TrafficManager/ReceiverUrlGroup",
                  "ThrottlingConfigurations/TrafficManager/AuthUrlGroup",
                  "ThrottlingConfigurations/PolicyDeployer/ServiceURL",
                  "APIGateway/Environments/Environment/GatewayWSEndpoint"]:  # fmt: skip
        assert root.find(xpath) is not None, xpath
    assert "${carbon.context}" in text and "${admin.username}" in text


def test_axis2_clustering_switch_and_dummy_member(home):
    path = home / "repository/conf/axis2/axis2.xml"
    lines = path.read_text(encoding="latin-1").splitlines()
    i = next(n for n, line in enumerate(lines) if "<clustering " in line)
    assert 'enable="false"' not in lines[i] and lines[i + 1].strip() == 'enable="false">'
    cl = ET.parse(path).getroot().find("clustering")
    params = {p.get("name"): p.text for p in cl.findall("parameter")}
    assert params["membershipScheme"] == "multicast"
    assert params["localMemberPort"] == "4000"
    assert [(m.findtext("hostName"), m.findtext("port")) for m in cl.iter("member")] == [
        ("127.0.0.1", "4000")
    ]


def test_identity_has_sixteen_oauth_urls(home):
    root = ET.parse(home / "repository/conf/identity/identity.xml").getroot()
    oauth = root.find(f"{CARBON_NS}OAuth")
    urls = [e for e in oauth if e.tag.endswith(("Url", "Page"))]
    assert len(urls) == 16
    prefix = "${carbon.protocol}://${carbon.host}:${carbon.management.port}/"
    assert all(e.text.startswith(prefix) for e in urls)
    assert root.findtext(f"{CARBON_NS}JDBCPersistenceManager/{CARBON_NS}DataSource/"
                         f"{CARBON_NS}Name") == "jdbc/WSO2AM_DB"  # fmt: skip


def loads_lenient(text: str) -> object:
    """Parse site.json the way Jaggery tolerates it: // comments and trailing commas."""
    out, i, quoted = [], 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
            out.append(ch)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(ch)
        i += 1
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", "".join(out)))


@pytest.mark.parametrize("app", ["store", "publisher", "admin"])
def test_site_json_is_lenient_json_with_two_contexts(home, app):
    text = home / f"repository/deployment/server/jaggeryapps/{app}/site/conf/site.json"
    raw = text.read_text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    doc = loads_lenient(raw)
    assert doc["context"] == f"/{app}"
    assert doc["reverseProxy"] == {
        "enabled": False,
        "host": "sample.proxydomain.com",
        "context": "",
    }


def test_dbscripts_traits(home):
    for rel in ["dbscripts/mysql.sql", "dbscripts/mysql5.7.sql", "dbscripts/apimgt/mysql.sql",
                "dbscripts/apimgt/mysql5.7.sql"]:  # fmt: skip
        text = (home / rel).read_text()
        assert "CREATE DATABASE" not in text.upper() and not re.search(r"^USE ", text, re.M)
        assert re.search(r"^-- .*;$", text, re.M), rel  # comment lines ending in ';'
        assert re.search(r"^-- CREATE TABLE", text, re.M), rel
        assert "CREATE INDEX" in text and "ADD CONSTRAINT" in text and "INSERT INTO" in text
        markers = (
            ["AM_API ", "IDN_BASE_TABLE"] if "apimgt" in rel else ["REG_RESOURCE ", "UM_USER "]
        )
        for table in markers:
            assert f"CREATE TABLE IF NOT EXISTS {table}" in text or f"CREATE TABLE {table}" in text
        tables = re.findall(r"^CREATE TABLE", text, re.M)
        assert (15 <= len(tables) <= 20) if "apimgt" in rel else (10 <= len(tables) <= 15)
        zero = "TIMESTAMP DEFAULT 0" in text or "TIMESTAMP NOT NULL DEFAULT 0" in text
        assert zero == rel.endswith("/mysql.sql"), rel
    assert "''" in (home / "dbscripts/apimgt/mysql5.7.sql").read_text()


# ------------------------------------------------------------------ overlay of the real pack


def test_install_with_the_stock_files_overlaid(tmp_path, keystores):
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    home = pack.install_pack(tmp_path / "h", keystores=keystores, pack_from=STOCK)
    for rel in ["repository/conf/carbon.xml", "repository/conf/registry.xml",
                "repository/conf/datasources/master-datasources.xml",
                "repository/deployment/server/jaggeryapps/store/site/conf/site.json",
                "repository/deployment/server/eventpublishers/jmsEventPublisher_1.10.0.xml",
                "dbscripts/apimgt/mysql5.7.sql",
                "repository/resources/security/wso2carbon.jks"]:  # fmt: skip
        assert (home / rel).read_bytes() == (STOCK / rel).read_bytes(), rel
    ours = (pack.FILES_DIR / "bin/wso2server.sh").read_bytes()
    assert (home / "bin/wso2server.sh").read_bytes() == ours


# ------------------------------------------------------------------ real boots


def test_boot_all_h2_serves_https_with_the_generated_cert(home, keystores, tmp_path):
    off = free_offset()
    proc = boot(home, f"-DportOffset={off}")
    try:
        wait_started(home, proc)
        assert (home / "wso2carbon.pid").read_text().strip() == str(proc.pid)
        pem = tmp_path / "ca.pem"
        pw = tmp_path / "pw"
        pw.write_text("wso2carbon")
        subprocess.run(
            [str(java_home() / "bin/keytool"), "-exportcert", "-rfc", "-alias", "wso2carbon",
             "-keystore", str(keystores / "wso2carbon.jks"), "-storepass:file", str(pw),
             "-file", str(pem)],
            check=True, capture_output=True,
        )  # fmt: skip
        ctx = ssl.create_default_context(cafile=str(pem))
        req = urllib.request.Request(f"https://localhost:{9443 + off}/carbon/admin/login.jsp")
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            assert resp.status == 200
            assert resp.headers["X-Carbon-Node"] == "unit-node"
            assert resp.headers["X-Carbon-Port"] == str(9443 + off)
            assert b"WSO2" in resp.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{8280 + off}/api/x?y=1", timeout=5) as resp:
            doc = json.loads(resp.read())
        assert (doc["node"], doc["path"], doc["port"]) == ("unit-node", "/api/x?y=1", 8280 + off)
        for base in (9763, 8243, 5672, 10397):  # servlet http, nio https, amqp, thrift
            port = base + off
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        code = stop(proc)
    assert code == 0
    text = log_text(home)
    assert re.search(r"^TID: \[-1234\] \[\] \[[\d\-: ,]+\] INFO \{[\w.]+\} - WSO2 Carbon started in \d+ sec$",
                     text, re.M)  # fmt: skip
    assert text.rstrip().endswith("Shutdown complete")
    assert not (home / "wso2carbon.pid").exists()
    assert "wso2carbon" not in " ".join(proc.args)


def test_boot_refuses_a_malformed_carbon_xml(home):
    set_text(home / "repository/conf/carbon.xml", "<Offset>0</Offset>", "<Offset>0</Ofset>")
    text = refused(home, "-DportOffset=712")
    assert re.search(r"ERROR \{[\w.]+\} - Error while parsing .*carbon\.xml : mismatched tag "
                     r"line \d+ column \d+", text)  # fmt: skip


def test_boot_refuses_mysql_without_the_driver_jar(home):
    set_text(
        home / "repository/conf/datasources/master-datasources.xml",
        "<url>jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE</url>",
        "<url>jdbc:mysql://127.0.0.1:1/apimgtdb?autoReconnect=true&amp;useSSL=false</url>",
    )
    text = refused(home, "-DportOffset=713", line="Error while initializing the API manager")
    # tomcat-jdbc's words at the first connection, then each consumer of the datasource
    assert (
        "ERROR {org.apache.tomcat.jdbc.pool.ConnectionPool} - Unable to create initial "
        "connections of pool.\njava.sql.SQLException: com.mysql.jdbc.Driver\n"
        "Caused by: java.lang.ClassNotFoundException: com.mysql.jdbc.Driver" in text
    )
    assert "ERROR {org.wso2.carbon.apimgt.impl.internal.APIManagerComponent} - Error while " in text


def test_boot_resolves_the_db_host_through_its_hosts_file_only(home, tmp_path):
    """The node looks the JDBC URL's host up in CARBON_HOSTS_FILE (its host's hosts file),
    never through this machine's resolver: a name it lacks fails like Connector/J."""
    alias = "mysql.cw-lab-unit.test"
    set_text(
        home / "repository/conf/datasources/master-datasources.xml",
        "<url>jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE</url>",
        f"<url>jdbc:mysql://{alias}:1/apimgtdb?autoReconnect=true&amp;useSSL=false</url>",
    )
    pack.make_driver_jar(home / "repository/components/lib")
    hosts = tmp_path / "etc-hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    env = {"CARBON_HOSTS_FILE": str(hosts)}
    done = "Error while initializing the API manager component"
    text = refused(home, "-DportOffset=718", line=done, env=env)
    # Connector/J's CommunicationsException through tomcat-jdbc, the JVM's cause
    assert (
        "ERROR {org.apache.tomcat.jdbc.pool.ConnectionPool} - Unable to create initial "
        "connections of pool.\ncom.mysql.jdbc.exceptions.jdbc4.CommunicationsException: "
        "Communications link failure\n\nThe last packet sent successfully to the server was 0 "
        "milliseconds ago. The driver has not received any packets from the server.\n"
        f"Caused by: java.net.UnknownHostException: {alias}: Name or service not known\n" in text
    )
    # with the name in the hosts file, the node goes on to connect to its address
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {alias}\n")
    (home / LOG).unlink()
    text = refused(home, "-DportOffset=718", line=done, env=env)  # nothing listens on port 1
    assert "UnknownHostException" not in text
    assert "Caused by: java.net.ConnectException: Connection refused" in text


def started_anyway(home: Path, *args: str) -> tuple[str, subprocess.Popen[str]]:
    proc = boot(home, *args)
    wait_started(home, proc)
    return log_text(home), proc


def test_a_busy_servlet_port_is_logged_and_the_node_still_says_started(home):
    """Tomcat binds at connector start (bindOnInit="false"); CarbonTomcat logs the
    LifecycleException and the boot goes on to WSO2 Carbon started (2.6.0, D3)."""
    off = free_offset()
    with socket.create_server(("127.0.0.1", 9443 + off)):
        text, proc = started_anyway(home, f"-DportOffset={off}")
        try:
            assert proc.poll() is None
        finally:
            assert stop(proc) == 0
    port = 9443 + off
    assert (
        "ERROR {org.apache.coyote.http11.Http11NioProtocol} - Failed to start end point "
        f'associated with ProtocolHandler ["http-nio-{port}"]\n'
        "java.net.BindException: Address already in use\n" in text
    )
    assert (
        "ERROR {org.wso2.carbon.tomcat.internal.CarbonTomcat} - LifeCycleException while "
        "starting tomcat connector\n" in text
    )
    assert text.index("LifeCycleException") < text.index("WSO2 Carbon started in")


def test_a_busy_nio_port_is_a_synapse_warning_and_the_node_still_says_started(home):
    off = free_offset()
    with socket.create_server(("127.0.0.1", 8243 + off)):
        text, proc = started_anyway(home, f"-DportOffset={off}")
        assert stop(proc) == 0
    assert (
        "WARN {org.apache.synapse.transport.passthru.PassThroughHttpListener} - System may be "
        "unstable: HTTPS ListeningIOReactor encountered a checked exception : Address already "
        "in use" in text
    )


def test_a_wrong_primary_keystore_password_never_reaches_started(home):
    set_text(home / "repository/conf/carbon.xml", "<Password>wso2carbon</Password>",
             "<Password>not-it</Password>")  # fmt: skip
    text = refused(home, "-DportOffset=715")
    assert "java.io.IOException: Keystore was tampered with, or password was incorrect" in text


def test_a_wrong_keystore_pass_of_the_servlet_connector_leaves_9443_closed(home):
    """catalina-server.xml keystorePass is what 9443 uses (not carbon.xml): its connector
    fails to start, the boot goes on (2.6.0 conf/tomcat/catalina-server.xml L76-77)."""
    set_text(home / "repository/conf/tomcat/catalina-server.xml", 'keystorePass="wso2carbon"',
             'keystorePass="not-it"')  # fmt: skip
    off = free_offset()
    text, proc = started_anyway(home, f"-DportOffset={off}")
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", 9443 + off), timeout=2).close()
        socket.create_connection(("127.0.0.1", 8243 + off), timeout=2).close()  # axis2's store
    finally:
        assert stop(proc) == 0
    assert (
        f'associated with ProtocolHandler ["http-nio-{9443 + off}"]\n'
        "java.io.IOException: Keystore was tampered with, or password was incorrect\n" in text
    )


def test_start_and_stop_as_a_daemon_with_the_pid_file(home):
    script = str(home / "bin/wso2server.sh")
    env = server_env()
    off = free_offset()
    out = subprocess.run([script, "start", f"-DportOffset={off}"], env=env, capture_output=True,
                         text=True, timeout=10)  # fmt: skip
    assert out.returncode == 0
    pid_file = home / "wso2carbon.pid"
    pid = int(poll(lambda: pid_file.exists() and pid_file.read_text().strip(),
                   deadline=10, what="pid file"))  # fmt: skip
    poll(lambda: "WSO2 Carbon started in" in log_text(home), deadline=20, what="boot")
    again = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=10)
    assert "Process is already running" in again.stdout
    socket.create_connection(("127.0.0.1", 9443 + off), timeout=2).close()
    stopped = subprocess.run([script, "stop"], env=env, capture_output=True, timeout=10)
    assert stopped.returncode == 0

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    poll(gone, deadline=10, what="server exit")
    assert not pid_file.exists()
    assert log_text(home).rstrip().endswith("Shutdown complete")


def test_script_needs_java_home(home):
    env = server_env()
    del env["JAVA_HOME"]
    out = subprocess.run([str(home / "bin/wso2server.sh")], env=env, capture_output=True,
                         text=True, timeout=10)  # fmt: skip
    assert out.returncode == 1
    assert "You must set the JAVA_HOME variable before running CARBON." in out.stdout
    env["JAVA_HOME"] = str(home)  # no bin/java there
    out = subprocess.run([str(home / "bin/wso2server.sh")], env=env, capture_output=True,
                         text=True, timeout=10)  # fmt: skip
    assert out.returncode == 1
    assert "Error: JAVA_HOME is not defined correctly." in out.stdout


def test_boot_with_the_stock_conf_overlaid(tmp_path, keystores):
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    home = pack.install_pack(tmp_path / "stock", keystores=keystores, pack_from=STOCK)
    off = free_offset()
    proc = boot(home, f"-DportOffset={off}", "-Dprofile=api-key-manager")
    try:
        wait_started(home, proc)
        url = f"http://127.0.0.1:{9763 + off}/carbon/admin/login.jsp"
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200 and resp.headers["X-Carbon-Port"] == str(9763 + off)
    finally:
        assert stop(proc) == 0


# ------------------------------------------------------------------ Open Banking flavour

OB_JNDI = "jdbc/WSO2OpenBankingDB"
OB_SCRIPT = "dbscripts/finance/openbanking.org.uk/mysql.sql"


@pytest.fixture()
def ob_home(tmp_path, keystores) -> Path:
    return pack.install_pack(
        tmp_path / "wso2am-2.6.0-ob", keystores=keystores, boot_delay=0.3, flavour="ob"
    )


def ob_names(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [
        (n.text or "").strip()
        for ds in root.iter()
        if ds.tag.endswith("}DataSource")
        for n in ds
        if n.tag.endswith("}Name")
    ]


def datasources_of(path: Path) -> dict[str, tuple[str, str]]:
    """Datasource name -> (JNDI name, URL) of one datasources file."""
    root = ET.parse(path).getroot()
    return {
        (d.findtext("name") or ""): (
            d.findtext("jndiConfig/name") or "",
            d.findtext("definition/configuration/url") or "",
        )
        for d in root.findall("./datasources/datasource")
    }


DS_DIR = "repository/conf/datasources"


def test_ob_flavour_is_laid_out_like_an_ob_pack(ob_home, home):
    """OB 1.4/1.5 API Manager layout: the OB datasource in its own file, a common DB for
    the user store and the registry mounts; every datasource a local H2 one as shipped."""
    files = sorted(p.name for p in (ob_home / DS_DIR).iterdir())
    assert files == [
        "master-datasources.xml", "metrics-datasources.xml", "open-banking-datasources.xml",
    ]  # fmt: skip
    master = datasources_of(ob_home / DS_DIR / "master-datasources.xml")
    ob = datasources_of(ob_home / DS_DIR / "open-banking-datasources.xml")
    metrics = datasources_of(ob_home / DS_DIR / "metrics-datasources.xml")
    assert list(master) == [
        "WSO2_CARBON_DB", "WSO2AM_DB", "WSO2AM_STATS_DB", "WSO2_MB_STORE_DB", "WSO2_COMMON_DB",
    ]  # fmt: skip
    assert master["WSO2_COMMON_DB"][0] == "jdbc/WSO2CommonDB"
    assert ob == {
        "WSO2_OPEN_BANKING_DB": (
            OB_JNDI,
            "jdbc:h2:repository/database/WSO2_OPEN_BANKING_DB;DB_CLOSE_ON_EXIT=FALSE;"
            "LOCK_TIMEOUT=60000",
        )
    }
    assert metrics["WSO2_METRICS_DB"][0] == "jdbc/WSO2MetricsDB"
    for name in ("WSO2_COMMON_DB", "WSO2_CARBON_DB"):
        assert master[name][1].startswith("jdbc:h2:repository/database/"), name
    for _jndi, url in [*master.values(), *ob.values(), *metrics.values()]:
        assert url.startswith("jdbc:h2:"), url  # shipped defaults: no database host at all
    # user-mgt.xml and the registry's config/governance mounts use the common database
    um = ET.parse(ob_home / "repository/conf/user-mgt.xml").getroot()
    assert um.findtext("./Realm/Configuration/Property[@name='dataSource']") == "jdbc/WSO2CommonDB"
    reg_path = ob_home / "repository/conf/registry.xml"
    reg = ET.parse(reg_path).getroot()
    dbc = {e.get("name"): e.findtext("dataSource") for e in reg.findall("./dbConfig")}
    assert dbc == {
        "wso2registry": "jdbc/WSO2CarbonDB",
        "configRegistry": "jdbc/WSO2CommonDB",
        "governanceRegistry": "jdbc/WSO2CommonDB",
    }
    mounts = {m.get("path"): m.findtext("instanceId") for m in reg.findall("./mount")}
    assert mounts == {
        "/_system/config": "configInstance",
        "/_system/governance": "governanceInstance",
    }
    raw = reg_path.read_bytes()  # the registry.xml traits of the pack survive (CRLF, Latin-1)
    assert raw.count(b"\r\n") == raw.count(b"\n") and b'encoding="ISO-8859-1"' in raw[:60]
    conf = ob_home / "repository/conf/finance/open-banking.xml"
    assert ob_names(conf) == [OB_JNDI]  # exactly one live DataSource/Name (OBA-E09)
    assert "<!--DataSource>" in conf.read_text()
    from wizard.db.sqlsplit import split_sql

    script = (ob_home / OB_SCRIPT).read_text()
    created = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", script)
    assert set(fc_markers()) <= set(created)
    assert len(split_sql(script)) == 4
    seqs = sorted((ob_home / "repository/resources/finance/apis").rglob("*.xml"))
    assert len(seqs) == 2
    for seq in seqs:
        ET.parse(seq)
        assert "https://localhost:9443/" in seq.read_text()  # the old KM endpoint (OBK-E33)
    # the API Manager flavour has none of it and is otherwise the same pack
    assert not (home / "repository/conf/finance").exists()
    assert not (home / "repository/resources/finance").exists()
    assert not (home / DS_DIR / "open-banking-datasources.xml").exists()
    assert "WSO2_COMMON_DB" not in (home / DS_DIR / "master-datasources.xml").read_text()
    assert (home / DS_DIR / "metrics-datasources.xml").read_bytes() == (
        ob_home / DS_DIR / "metrics-datasources.xml"
    ).read_bytes()
    assert (home / "repository/conf/carbon.xml").read_bytes() == (
        ob_home / "repository/conf/carbon.xml"
    ).read_bytes()


def fc_markers() -> tuple[str, ...]:
    from wizard.lab import fakecarbon_consumers

    return fakecarbon_consumers.OB_MARKERS


def test_unknown_flavour_is_refused(tmp_path, keystores):
    with pytest.raises(WizardError, match="unknown pack flavour 'obkm'"):
        pack.install_pack(tmp_path / "x", keystores=keystores, flavour="obkm")
    assert not (tmp_path / "x").exists()


def test_ob_home_boots_and_refuses_an_undefined_ob_datasource(ob_home):
    off = free_offset()
    proc = boot(ob_home, f"-DportOffset={off}")
    try:
        wait_started(ob_home, proc)
    finally:
        assert stop(proc) == 0
    (ob_home / LOG).unlink()
    set_text(ob_home / "repository/conf/finance/open-banking.xml",
             f"<Name>{OB_JNDI}</Name>", "<Name>jdbc/NoSuchDB</Name>")  # fmt: skip
    text = refused(ob_home, "-DportOffset=716")
    assert "'jdbc/NoSuchDB' named in open-banking.xml is not defined in any of " in text
    assert "open-banking-datasources.xml" in text


def test_ob_home_refuses_the_ob_jndi_name_bound_in_two_files(ob_home):
    """What the wizard did before it looked for datasources in every file: a WSO2OB_DB in
    master-datasources.xml binds the JNDI name open-banking-datasources.xml binds."""
    second = """        <datasource>
            <name>WSO2OB_DB</name>
            <jndiConfig>
                <name>jdbc/WSO2OpenBankingDB</name>
            </jndiConfig>
            <definition type="RDBMS">
                <configuration>
                    <url>jdbc:h2:repository/database/WSO2OB_DB</url>
                    <username>wso2carbon</username>
                    <password>wso2carbon</password>
                </configuration>
            </definition>
        </datasource>
    </datasources>"""
    set_text(ob_home / DS_DIR / "master-datasources.xml", "    </datasources>", second)
    text = refused(ob_home, "-DportOffset=717")
    assert (
        "ERROR {org.wso2.carbon.ndatasource.core.DataSourceRepository} - Error in binding to "
        "JNDI with name 'jdbc/WSO2OpenBankingDB' - Name WSO2OpenBankingDB is already bound in "
        "this Context (datasource WSO2OB_DB in master-datasources.xml and datasource "
        "WSO2_OPEN_BANKING_DB in open-banking-datasources.xml" in text
    )


def test_ob_flavour_over_the_stock_conf(tmp_path, keystores):
    """A real pack laid over an OB home wins (here the stock API Manager conf): its own
    master-datasources.xml, user-mgt.xml and registry.xml, next to the OB files."""
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    home = pack.install_pack(tmp_path / "ob", keystores=keystores, pack_from=STOCK, flavour="ob")
    for rel in (f"{DS_DIR}/master-datasources.xml", f"{DS_DIR}/metrics-datasources.xml",
                "repository/conf/user-mgt.xml", "repository/conf/registry.xml"):  # fmt: skip
        assert (home / rel).read_bytes() == (STOCK / rel).read_bytes(), rel
    assert (home / DS_DIR / "open-banking-datasources.xml").is_file()
    from wizard.lab import fakecarbon_checks as fc
    from wizard.lab import fakecarbon_consumers as fcc
    from wizard.lab import fakecarbon_ds

    conf = fc.load_configs(home)
    sources = fakecarbon_ds.load_datasources(home)
    assert OB_JNDI in {d.jndi for d in sources}
    fcc.check_references(sources, conf["usermgt"], conf["registry"], fc.ob_datasource(conf["ob"]))


# ------------------------------------------------------------------ the lab's homes


def lab_view(n_hosts: int) -> dict:
    return {
        "dir": "/tmp/lab",
        "hosts": [
            {
                "name": f"h{i}",
                "address": f"127.0.0.{i}",
                "home": f"/tmp/lab/hosts/h{i}/wso2am-2.6.0",
            }
            for i in range(2, 2 + n_hosts)
        ],
    }


@pytest.mark.parametrize("n_hosts", [1, 4])
def test_the_lab_installs_every_home_any_pattern_uses(n_hosts):
    from wizard.catalog import pattern_ids
    from wizard.lab.answers import lab_nodes
    from wizard.lab.build import lab_homes

    view = lab_view(n_hosts)
    homes = lab_homes(view, lambda _msg: None)
    by_home = {h["home"]: h for h in homes}
    assert len(by_home) == len(homes)  # each home once
    for host in view["hosts"]:  # each host's own home is an API Manager pack
        assert by_home[host["home"]] == {
            "home": host["home"],
            "host": host["name"],
            "flavour": "apim",
        }
    for pattern in pattern_ids():
        for node in lab_nodes(view, pattern):
            assert by_home[node["home"]]["host"] == node["host"], (pattern, node["name"])
            want = "ob" if pattern.startswith("ob-") else "apim"
            assert by_home[node["home"]]["flavour"] == node["flavour"] == want
    if n_hosts == 4:  # apim-distributed's fifth node shares the first host
        assert "/tmp/lab/hosts/h2/wso2am-2.6.0-gw" in by_home
        assert by_home["/tmp/lab/hosts/h2/wso2am-2.6.0-ob"]["flavour"] == "ob"
