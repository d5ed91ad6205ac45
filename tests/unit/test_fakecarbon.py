"""The fake Carbon server's configuration reading and boot checks (pure, fast)."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wizard.lab import fakecarbon
from wizard.lab import fakecarbon_checks as fc
from wizard.lab import fakecarbon_consumers as fcc
from wizard.lab import fakecarbon_node as fn

REPO = Path(__file__).resolve().parents[2]
PACK_HOME = REPO / "wizard" / "lab" / "pack" / "files"
STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0"


def xml(text: str) -> ET.Element:
    return ET.fromstring(text)


def pack_conf(key: str) -> ET.Element:
    return fc.parse_xml(PACK_HOME / fc.CONF_FILES[key])


MD_MYSQL = """<datasources-configuration xmlns:svns="http://org.wso2.securevault/configuration">
  <datasources>
    <datasource>
      <name>WSO2AM_DB</name>
      <jndiConfig><name>jdbc/WSO2AM_DB</name></jndiConfig>
      <definition type="RDBMS"><configuration>
        <url>jdbc:mysql://127.0.0.1:3417/apimgtdb?autoReconnect=true&amp;useSSL=false</url>
        <username>apim</username>
        <password> s3cr;et </password>
        <driverClassName>com.mysql.jdbc.Driver</driverClassName>
      </configuration></definition>
    </datasource>
    <datasource>
      <name>WSO2REG_DB</name>
      <jndiConfig><name>jdbc/WSO2REG_DB</name></jndiConfig>
      <definition type="RDBMS"><configuration>
        <url>jdbc:mysql://db.example:3306/regdb</url>
        <username>reg</username><password>x</password>
      </configuration></definition>
    </datasource>
    <datasource>
      <name>WSO2_CARBON_DB</name>
      <jndiConfig><name>jdbc/WSO2CarbonDB</name></jndiConfig>
      <definition type="RDBMS"><configuration>
        <url>jdbc:h2:repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE</url>
        <username>wso2carbon</username><password>wso2carbon</password>
      </configuration></definition>
    </datasource>
    <!--datasource><name>COMMENTED</name></datasource-->
  </datasources>
</datasources-configuration>"""

USERMGT = """<UserManager><Realm><Configuration>
  <Property name="dataSource">{ds}</Property>
</Configuration></Realm></UserManager>"""


def registry(extra: str = "") -> ET.Element:
    return xml(
        "<wso2registry><currentDBConfig>wso2registry</currentDBConfig>"
        '<dbConfig name="wso2registry"><dataSource>jdbc/WSO2CarbonDB</dataSource></dbConfig>'
        f"{extra}</wso2registry>"
    )


MOUNT = """
<dbConfig name="govregistry"><dataSource>jdbc/WSO2REG_DB</dataSource></dbConfig>
<remoteInstance url="https://localhost:9443/registry">
  <id>{iid}</id><dbConfig>govregistry</dbConfig><readOnly>false</readOnly>
</remoteInstance>
<mount path="/_system/governance" overwrite="true">
  <instanceId>{mid}</instanceId><targetPath>/_system/governance</targetPath>
</mount>"""


# ------------------------------------------------------------------ parse errors


def test_malformed_xml_names_file_line_and_column(tmp_path):
    bad = tmp_path / "carbon.xml"
    bad.write_text('<?xml version="1.0"?>\n<Server>\n  <Ports><Offset>0</Ports>\n</Server>\n')
    with pytest.raises(fc.BootError) as err:
        fc.parse_xml(bad)
    msg = err.value.message
    assert msg.startswith(f"Error while parsing {bad} : mismatched tag")
    assert msg.endswith("line 3 column 21")


def test_missing_file_is_a_boot_error(tmp_path):
    with pytest.raises(fc.BootError, match="Error while reading"):
        fc.parse_xml(tmp_path / "nope.xml")


def test_load_configs_stops_at_the_first_bad_file(tmp_path):
    for rel in fc.CONF_FILES.values():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((PACK_HOME / rel).read_bytes())
    (tmp_path / fc.CONF_FILES["axis2"]).write_text("<axisconfig><clustering></axisconfig>")
    with pytest.raises(fc.BootError, match=r"axis2\.xml : mismatched tag line 1 column 27"):
        fc.load_configs(tmp_path)


def test_pack_files_all_parse():
    conf = fc.load_configs(PACK_HOME)
    assert set(conf) == set(fc.CONF_FILES)


# ------------------------------------------------------------------ offset, args


def test_offset_from_carbon_xml_and_cli_override():
    carbon = xml(f'<Server xmlns="{fc.CARBON_NS}"><Ports><Offset>3</Offset></Ports></Server>')
    assert fc.resolve_offset(carbon, None) == 3
    assert fc.resolve_offset(carbon, 0) == 0
    assert fc.resolve_offset(carbon, 705) == 705
    assert fc.resolve_offset(pack_conf("carbon"), None) == 0


def test_offset_without_namespace_is_not_found():
    # Un-namespaced Ports/Offset is not Carbon's element: the default 0 applies.
    assert fc.resolve_offset(xml("<Server><Ports><Offset>9</Offset></Ports></Server>"), None) == 0


def test_bad_offset_is_refused():
    carbon = xml(f'<Server xmlns="{fc.CARBON_NS}"><Ports><Offset>two</Offset></Ports></Server>')
    with pytest.raises(fc.BootError, match="Invalid port offset 'two'"):
        fc.resolve_offset(carbon, None)


def test_parse_args():
    opts = fc.parse_args(["-DportOffset=7", "-Dprofile=api-key-manager", "-Dsetup", "-Dfoo=1"])
    assert (opts.offset, opts.profile, opts.setup, opts.extra) == (
        7,
        "api-key-manager",
        True,
        ["-Dfoo=1"],
    )
    assert fc.parse_args([]).offset is None
    with pytest.raises(fc.BootError, match="Unknown profile 'gateway'"):
        fc.parse_args(["-Dprofile=gateway"])
    with pytest.raises(fc.BootError, match="Invalid port offset"):
        fc.parse_args(["-DportOffset=-1"])


# ------------------------------------------------------------------ datasources


def test_datasources_skip_comments_and_keep_order():
    sources = fc.datasources(xml(MD_MYSQL))
    assert [d.name for d in sources] == ["WSO2AM_DB", "WSO2REG_DB", "WSO2_CARBON_DB"]
    am = sources[0]
    assert am.jndi == "jdbc/WSO2AM_DB"
    assert am.url == "jdbc:mysql://127.0.0.1:3417/apimgtdb?autoReconnect=true&useSSL=false"
    assert am.password == "s3cr;et"
    assert "s3cr" not in repr(am)


def test_pack_datasources_are_the_four_h2_ones():
    sources = fc.datasources(pack_conf("datasources"))
    assert [d.name for d in sources] == [
        "WSO2_CARBON_DB",
        "WSO2AM_DB",
        "WSO2AM_STATS_DB",
        "WSO2_MB_STORE_DB",
    ]
    assert all(d.url.startswith("jdbc:h2:") for d in sources)
    assert not fcc.mysql_in_use(sources)


def test_mysql_url_parsing():
    t = fc.parse_mysql_url("jdbc:mysql://127.0.0.1:3417/apimgtdb?autoReconnect=true&useSSL=false")
    assert t == fc.MysqlTarget(
        "127.0.0.1", 3417, "apimgtdb", {"autoReconnect": "true", "useSSL": "false"}
    )
    # The stray space of guide G004 ("& relaxAutoCommit") still parses.
    t2 = fc.parse_mysql_url("jdbc:mysql://carbondb.mysql-wso2.com/regdb?a=1& relaxAutoCommit=true")
    assert (t2.host, t2.port, t2.database) == ("carbondb.mysql-wso2.com", 3306, "regdb")
    assert t2.params["relaxAutoCommit"] == "true"
    assert fc.parse_mysql_url("jdbc:h2:repository/database/WSO2AM_DB") is None


def test_marker_tables():
    sources = {d.name: d for d in fc.datasources(xml(MD_MYSQL))}
    reg = registry(MOUNT.format(iid="gov", mid="gov"))
    um = xml(USERMGT.format(ds="jdbc/WSO2CarbonDB"))
    assert fcc.marker_tables(sources["WSO2AM_DB"], reg, um) == ("AM_API", "IDN_BASE_TABLE")
    assert fcc.marker_tables(sources["WSO2REG_DB"], reg, um) == ("REG_RESOURCE", "UM_USER")
    stats = fc.DataSource(
        "WSO2AM_STATS_DB", "jdbc/WSO2AM_STATS_DB", "jdbc:mysql://h/s", "u", "p", ""
    )
    assert fcc.marker_tables(stats, reg, um) == ()
    # A datasource named only through registry.xml dbConfig gets the shared markers.
    other = fc.DataSource("GOV", "jdbc/GOV", "jdbc:mysql://h/g", "u", "p", "")
    gov = registry('<dbConfig name="g"><dataSource>jdbc/GOV</dataSource></dbConfig>')
    assert fcc.marker_tables(other, gov, um) == ("REG_RESOURCE", "UM_USER")
    assert fcc.marker_tables(other, registry(), um) == ()


# ------------------------------------------------------------------ driver


def test_driver_jar_required_only_for_mysql(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    fcc.check_driver(fc.datasources(pack_conf("datasources")), lib)  # all H2: fine
    mysql = fc.datasources(xml(MD_MYSQL))
    with pytest.raises(fc.BootError) as got:
        fcc.check_driver(mysql, lib)
    # tomcat-jdbc's words: the pool cannot start, the driver class is not found
    assert got.value.message == "Unable to create initial connections of pool."
    assert got.value.detail[0] == "java.sql.SQLException: com.mysql.jdbc.Driver"
    assert got.value.detail[1].startswith(
        "Caused by: java.lang.ClassNotFoundException: com.mysql.jdbc.Driver"
    )
    (lib / "mysql-connector-java.txt").write_text("not a jar")
    with pytest.raises(fc.BootError):
        fcc.check_driver(mysql, lib)
    (lib / "mysql-connector-j-8.0.33.jar").write_bytes(b"PK")
    fcc.check_driver(mysql, lib)
    assert fcc.driver_jar(lib).name == "mysql-connector-j-8.0.33.jar"


# ------------------------------------------------------------------ references


def test_references_ok_for_the_pack_and_a_proper_mount():
    fcc.check_references(
        fc.datasources(pack_conf("datasources")), pack_conf("usermgt"), pack_conf("registry")
    )
    sources = fc.datasources(xml(MD_MYSQL))
    fcc.check_references(
        sources,
        xml(USERMGT.format(ds="jdbc/WSO2REG_DB")),
        registry(MOUNT.format(iid="gov", mid="gov")),
    )


def test_usermgt_datasource_must_exist():
    with pytest.raises(fc.BootError, match="'jdbc/WSO2UM_DB' named in user-mgt.xml"):
        fcc.check_references(
            fc.datasources(xml(MD_MYSQL)), xml(USERMGT.format(ds="jdbc/WSO2UM_DB")), registry()
        )


def test_registry_dbconfig_datasource_must_exist():
    reg = registry('<dbConfig name="govregistry"><dataSource>jdbc/NOPE</dataSource></dbConfig>')
    with pytest.raises(fc.BootError, match="dbConfig 'govregistry' uses datasource 'jdbc/NOPE'"):
        fcc.check_references(
            fc.datasources(xml(MD_MYSQL)), xml(USERMGT.format(ds="jdbc/WSO2CarbonDB")), reg
        )


def test_mount_instance_id_must_match_a_remote_instance():
    # Guide G002's bug: the mount names an instanceId no remoteInstance has.
    reg = registry(MOUNT.format(iid="gov", mid="governanceregistry"))
    with pytest.raises(fc.BootError, match="instanceId 'governanceregistry'"):
        fcc.check_references(
            fc.datasources(xml(MD_MYSQL)), xml(USERMGT.format(ds="jdbc/WSO2CarbonDB")), reg
        )


# ------------------------------------------------------------------ Open Banking

OB_NS = "http://wso2.org/projects/carbon/open-banking.xml"


def test_ob_datasource_is_read_by_local_name_and_must_be_unique():
    assert fc.ob_datasource(None) == ""
    doc = xml(
        f'<Server xmlns="{OB_NS}"><DataSource><Name> jdbc/WSO2OpenBankingDB </Name></DataSource>'
        "<!--DataSource><Name>jdbc/Other</Name></DataSource--></Server>"
    )
    assert fc.ob_datasource(doc) == "jdbc/WSO2OpenBankingDB"
    assert fc.ob_datasource(
        xml("<Server><DataSource><Name>jdbc/X</Name></DataSource></Server>")
    ) == ("jdbc/X")
    two = xml(
        "<Server><DataSource><Name>jdbc/A</Name></DataSource>"
        "<Reporting><DataSource><Name>jdbc/B</Name></DataSource></Reporting></Server>"
    )
    with pytest.raises(fc.BootError, match="2 DataSource/Name elements"):
        fc.ob_datasource(two)


def test_ob_datasource_must_be_defined_and_gets_the_ob_tables_checked(tmp_path):
    sources = fc.datasources(xml(MD_MYSQL))
    um = xml(USERMGT.format(ds="jdbc/WSO2CarbonDB"))
    with pytest.raises(fc.BootError, match="'jdbc/WSO2OpenBankingDB' named in open-banking.xml"):
        fcc.check_references(sources, um, registry(), "jdbc/WSO2OpenBankingDB")
    fcc.check_references(sources, um, registry(), "jdbc/WSO2REG_DB")
    ob = fc.DataSource("WSO2OB_DB", "jdbc/WSO2OpenBankingDB", "jdbc:mysql://h/ob", "u", "p", "")
    assert fcc.marker_tables(ob, registry(), um, "jdbc/WSO2OpenBankingDB") == fcc.OB_MARKERS
    assert fcc.marker_tables(ob, registry(), um) == ()
    # the home's open-banking.xml is parsed along with the other files when present
    home = tmp_path / "home"
    for rel in fc.CONF_FILES.values():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACK_HOME / rel, home / rel)
    assert "ob" not in fc.load_configs(home)
    (home / fc.OB_CONF_FILE).parent.mkdir(parents=True)
    (home / fc.OB_CONF_FILE).write_text("<Server><DataSource><Name>jdbc/OB</Name></DataSource>")
    with pytest.raises(fc.BootError, match="open-banking.xml"):
        fc.load_configs(home)
    (home / fc.OB_CONF_FILE).write_text(
        "<Server><DataSource><Name>jdbc/OB</Name></DataSource></Server>"
    )
    assert fc.ob_datasource(fc.load_configs(home)["ob"]) == "jdbc/OB"
    script = fakecarbon.setup_script(PACK_HOME.parent / "files-ob", fcc.OB_MARKERS)
    assert script is not None and script.name == "mysql.sql"
    assert "openbanking.org.uk" in str(script)


# ------------------------------------------------------------------ ports


def test_ports_per_profile():
    def ports(profile: str, offset: int = 0) -> dict[str, int]:
        return {lst.name: lst.port for lst in fn.listeners(profile, offset)}

    assert ports("default", 2) == {
        "servlet-https": 9445,
        "servlet-http": 9765,
        "nio-https": 8245,
        "nio-http": 8282,
        "amqp": 5674,
        "tm-binary": 9613,
        "tm-binary-ssl": 9713,
        "thrift": 10399,
    }
    assert set(ports("api-key-manager")) == {"servlet-https", "servlet-http", "thrift"}
    assert set(ports("api-publisher")) == {"servlet-https", "servlet-http"}
    assert set(ports("api-store")) == {"servlet-https", "servlet-http"}
    # the traffic manager's binary receivers answer the tm_binary readiness probe
    assert ports("traffic-manager", 5) == {
        "servlet-https": 9448,
        "servlet-http": 9768,
        "amqp": 5677,
        "tm-binary": 9616,
        "tm-binary-ssl": 9716,
    }
    assert set(ports("gateway-worker", 1)) == {
        "servlet-https",
        "servlet-http",
        "nio-https",
        "nio-http",
    }
    assert ports("gateway-worker", 1)["nio-https"] == 8244


def test_servlet_ports_come_from_catalina():
    assert fn.servlet_ports(pack_conf("catalina")) == (9443, 9763)
    cat = xml(
        '<Server><Service><Connector port="9764"/>'
        '<Connector port="9444" SSLEnabled="true" scheme="https"/></Service></Server>'
    )
    assert fn.servlet_ports(cat) == (9444, 9764)


# ------------------------------------------------------------------ clustering


def test_cluster_config_of_the_pack_is_off_with_a_dummy_member():
    cfg = fn.cluster_config(pack_conf("axis2"))
    assert cfg == fn.ClusterConfig(
        False, "multicast", "wso2.carbon.domain", "127.0.0.1", 4000, (("127.0.0.1", 4000),),
        http_port=8280, https_port=8243, sub_domain="worker",
    )  # fmt: skip
    # AvoidInitiation true (the stock value): the advertised ports are not offset
    assert fn.cluster_config(pack_conf("axis2"), offset=3).https_port == 8243


def test_cluster_config_wka_with_range():
    axis2 = xml(
        '<axisconfig><clustering class="x" enable="true">'
        '<parameter name="membershipScheme">wka</parameter>'
        '<parameter name="domain">wso2.obkm.domain</parameter>'
        '<parameter name="localMemberHost">127.0.0.5</parameter>'
        '<parameter name="localMemberPort">4100</parameter>'
        "<members><member><hostName>127.0.0.6</hostName><port>4100</port></member>"
        "<member><hostName>127.0.0.7</hostName><port>4100-4101</port></member></members>"
        "</clustering></axisconfig>"
    )
    cfg = fn.cluster_config(axis2)
    assert cfg.enabled and cfg.scheme == "wka" and cfg.domain == "wso2.obkm.domain"
    assert (cfg.local_host, cfg.local_port) == ("127.0.0.5", 4100)
    assert cfg.members == (("127.0.0.6", 4100), ("127.0.0.7", 4100), ("127.0.0.7", 4101))


# ------------------------------------------------------------------ keystore, delay


def test_keystore_config_resolves_carbon_home(tmp_path):
    ks = fn.keystore_config(pack_conf("carbon"), tmp_path)
    assert ks.location == tmp_path / "repository/resources/security/wso2carbon.jks"
    assert (ks.store_type, ks.key_alias, ks.password, ks.key_password) == (
        "JKS",
        "wso2carbon",
        "wso2carbon",
        "wso2carbon",
    )
    other = fn.KeyStoreConfig(ks.location, "JKS", "Pa55-store", "alias", "Pa55-key")
    assert "Pa55" not in repr(other)


def test_boot_delay_sources(tmp_path):
    assert fakecarbon.boot_delay(tmp_path, {}) == fakecarbon.DEFAULT_BOOT_DELAY
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "fakecarbon.conf").write_text("# lab\nboot_delay = 0.25\n")
    assert fakecarbon.boot_delay(tmp_path, {}) == 0.25
    assert fakecarbon.boot_delay(tmp_path, {"CARBON_FAKE_BOOT_DELAY": "1.5"}) == 1.5


def test_the_boot_checks_count_in_the_boot_delay(tmp_path, monkeypatch):
    """boot_delay is how long the boot takes up to the transports: checks that took 0.4 s
    of a 0.5 s boot leave at most 0.1 s to wait; checks longer than it leave none.
    The server's clock is a fake one that the checks move on."""
    from types import SimpleNamespace

    (tmp_path / "repository" / "logs").mkdir(parents=True)
    waits: list[float | None] = []
    clock = [0.0]
    monkeypatch.setattr(fakecarbon, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def checks(seconds: float) -> bool:
        clock[0] += seconds
        return True

    def run(check_seconds: float, delay: str) -> float | None:
        clock[0] = 0.0
        server = fakecarbon.Server(tmp_path, fc.Options(), {"CARBON_FAKE_BOOT_DELAY": delay})
        monkeypatch.setattr(server, "boot", lambda: checks(check_seconds))
        monkeypatch.setattr(server, "complete", lambda: False)
        monkeypatch.setattr(server, "wait_for_signal", lambda t: waits.append(t) or False)
        server.run()
        return waits[-2]  # the boot's wait (the last one: completeInitialization threw)

    assert 0.0 < run(0.4, "0.5") <= 0.1
    assert run(0.3, "0.2") == 0.0
    assert run(0.0, "5") > 4.5


# ------------------------------------------------------------------ the real stock files


@pytest.fixture()
def stock() -> Path:
    if not STOCK.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    return STOCK


def test_stock_files_are_understood(stock):
    conf = fc.load_configs(stock)
    assert fc.resolve_offset(conf["carbon"], None) == 0
    sources = fc.datasources(conf["datasources"])
    assert [d.name for d in sources] == [
        "WSO2_CARBON_DB",
        "WSO2AM_DB",
        "WSO2AM_STATS_DB",
        "WSO2_MB_STORE_DB",
    ]
    fcc.check_references(sources, conf["usermgt"], conf["registry"])
    cl = fn.cluster_config(conf["axis2"])
    assert not cl.enabled and cl.members == (("127.0.0.1", 4000),)
    assert fn.servlet_ports(conf["catalina"]) == (9443, 9763)
    ks = fn.keystore_config(conf["carbon"], stock)
    assert ks.location == stock / "repository/resources/security/wso2carbon.jks"


# ------------------------------------------------------------------ secrets to the DB client


def test_db_password_goes_to_the_client_in_a_private_file_only(tmp_path, monkeypatch):
    """A stand-in ``mariadb`` on PATH records what the real client would receive."""
    from wizard.lab import fakecarbon_services as svc

    record = tmp_path / "record"
    fake = tmp_path / "bin" / "mariadb"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'exec 3>"{record}"\n'
        'for a in "$@"; do echo "ARG $a" >&3; done\n'
        'cnf="${1#--defaults-extra-file=}"\n'
        'echo "MODE $(stat -c %a "$cnf") DIRMODE $(stat -c %a "$(dirname "$cnf")")" >&3\n'
        'sed "s/^/CNF /" "$cnf" >&3\n'
        'env | sed "s/^/ENV /" >&3\n'
        "echo AM_API; echo IDN_BASE_TABLE\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    password = 'p@ss;"w\\rd'
    ds = fc.DataSource(
        "WSO2AM_DB", "jdbc/WSO2AM_DB", "jdbc:mysql://127.0.0.1:1/am", "u", password, ""
    )
    target = fc.parse_mysql_url(ds.url)
    assert svc.existing_tables(ds, target) == {"AM_API", "IDN_BASE_TABLE"}
    lines = record.read_text().splitlines()
    args = [line for line in lines if line.startswith(("ARG ", "ENV "))]
    assert not any("p@ss" in line for line in args)
    assert "MODE 600 DIRMODE 700" in lines
    assert 'CNF password="p@ss;\\"w\\\\rd"' in lines
    assert "ARG --database=am" in lines
    # The private folder is gone afterwards.
    cnf = next(line[4:] for line in lines if line.startswith("ARG --defaults-extra-file="))
    assert not Path(cnf.split("=", 1)[1]).exists()


def test_setup_runs_the_mysql_sql_scripts_only():
    """-Dsetup never picks the 5.7 variant (carbon-kernel v4.4.35 DatabaseCreator: type
    "mysql" -> dbscripts/mysql.sql; carbon-apimgt LocalDatabaseCreator: apimgt/mysql.sql)."""
    assert (
        fakecarbon.setup_script(PACK_HOME, fcc.AM_MARKERS)
        == PACK_HOME / "dbscripts/apimgt/mysql.sql"
    )
    assert (
        fakecarbon.setup_script(PACK_HOME, fcc.SHARED_MARKERS) == PACK_HOME / "dbscripts/mysql.sql"
    )
