"""The fake Carbon reads its system datasources like carbon-kernel 4.4's ndatasource
component: master-datasources.xml, then every other ``*-datasources.xml`` of the folder;
references resolve against all of them; a name bound twice stops the boot (pure, fast)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wizard.lab import fakecarbon_checks as fc
from wizard.lab import fakecarbon_consumers as fcc
from wizard.lab import fakecarbon_ds as fds

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "wizard" / "lab" / "pack"
DS_DIR = Path("repository/conf/datasources")


def ds_file(*datasources: tuple[str, str, str]) -> str:
    """A datasources file with (name, JNDI name, URL) datasources."""
    body = "".join(
        f"""
    <datasource>
      <name>{name}</name>
      <jndiConfig><name>{jndi}</name></jndiConfig>
      <definition type="RDBMS"><configuration>
        <url>{url}</url><username>u</username><password>p</password>
        <driverClassName>org.h2.Driver</driverClassName>
      </configuration></definition>
    </datasource>"""
        for name, jndi, url in datasources
    )
    return (
        '<datasources-configuration xmlns:svns="http://org.wso2.securevault/configuration">\n'
        "  <providers><provider>org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader"
        f"</provider></providers>\n  <datasources>{body}\n  </datasources>\n"
        "</datasources-configuration>\n"
    )


def h2(name: str) -> str:
    return f"jdbc:h2:repository/database/{name};DB_CLOSE_ON_EXIT=FALSE"


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """A home with the OB pack's configuration files (API Manager files + files-ob)."""
    home = tmp_path / "home"
    shutil.copytree(PACK / "files" / "repository", home / "repository")
    shutil.copytree(PACK / "files-ob" / "repository", home / "repository", dirs_exist_ok=True)
    return home


def write(home: Path, name: str, text: str) -> Path:
    path = home / DS_DIR / name
    path.write_text(text)
    return path


def test_every_datasources_file_is_read_master_first(home: Path) -> None:
    write(home, "a-extra-datasources.xml", ds_file(("EXTRA_DB", "jdbc/ExtraDB", h2("EXTRA"))))
    write(home, "notes.xml", ds_file(("IGNORED_DB", "jdbc/Ignored", h2("IGNORED"))))
    write(home, "old-datasources.xml.bak", ds_file(("BAK_DB", "jdbc/Bak", h2("BAK"))))
    files = [p.name for p in fds.datasource_files(home)]
    assert files == [
        "master-datasources.xml",
        "a-extra-datasources.xml",
        "metrics-datasources.xml",
        "open-banking-datasources.xml",
    ]  # only *-datasources.xml, as DataSourceManager.initSystemDataSources reads them
    sources = fds.load_datasources(home)
    by_name = {d.name: d for d in sources}
    assert [d.name for d in sources][:5] == [
        "WSO2_CARBON_DB", "WSO2AM_DB", "WSO2AM_STATS_DB", "WSO2_MB_STORE_DB", "WSO2_COMMON_DB",
    ]  # fmt: skip
    assert by_name["EXTRA_DB"].file == "a-extra-datasources.xml"
    assert by_name["WSO2_METRICS_DB"].file == "metrics-datasources.xml"
    assert by_name["WSO2_OPEN_BANKING_DB"].jndi == "jdbc/WSO2OpenBankingDB"
    assert by_name["WSO2_OPEN_BANKING_DB"].file == "open-banking-datasources.xml"
    assert "IGNORED_DB" not in by_name and "BAK_DB" not in by_name


def test_references_resolve_across_files(home: Path) -> None:
    conf = fc.load_configs(home)
    sources = fds.load_datasources(home)
    ob_jndi = fc.ob_datasource(conf["ob"])
    assert ob_jndi == "jdbc/WSO2OpenBankingDB"  # defined in open-banking-datasources.xml only
    fcc.check_references(sources, conf["usermgt"], conf["registry"], ob_jndi)
    ob = next(d for d in sources if d.jndi == ob_jndi)
    assert fcc.marker_tables(ob, conf["registry"], conf["usermgt"], ob_jndi) == fcc.OB_MARKERS
    common = next(d for d in sources if d.name == "WSO2_COMMON_DB")
    assert fcc.marker_tables(common, conf["registry"], conf["usermgt"]) == fcc.SHARED_MARKERS
    # user-mgt.xml may name a datasource of any file; one of no file is refused, naming them
    extra = ds_file(("WSO2UM_DB", "jdbc/WSO2UM_DB", "jdbc:mysql://db.test:3306/userdb"))
    write(home, "um-datasources.xml", extra)
    um = home / "repository/conf/user-mgt.xml"
    um.write_text(um.read_text().replace(">jdbc/WSO2CommonDB<", ">jdbc/WSO2UM_DB<"))
    conf = fc.load_configs(home)
    fcc.check_references(fds.load_datasources(home), conf["usermgt"], conf["registry"], ob_jndi)
    (home / DS_DIR / "um-datasources.xml").unlink()
    with pytest.raises(fc.BootError) as err:
        fcc.check_references(fds.load_datasources(home), conf["usermgt"], conf["registry"])
    # the user core's words (carbon-kernel 4.4.35 Activator, DatabaseUtil), then the fake's
    assert err.value.message == "Cannot start User Manager Core bundle"
    assert err.value.detail[0].startswith(
        "java.lang.RuntimeException: Error in looking up data source: "
        "javax.naming.NameNotFoundException: Name WSO2UM_DB is not bound in this Context"
    )
    assert "'jdbc/WSO2UM_DB' named in user-mgt.xml is not defined in any of " in str(err.value)
    assert "master-datasources.xml, metrics-datasources.xml, open-banking" in str(err.value)


def test_a_jndi_name_bound_in_two_files_is_refused(home: Path) -> None:
    md = home / DS_DIR / "master-datasources.xml"
    ob_ds = ("WSO2OB_DB", "jdbc/WSO2OpenBankingDB", "jdbc:mysql://db.test:3306/obdb")
    fragment = ds_file(ob_ds).split("<datasources>", 1)[1].split("</datasources>", 1)[0]
    md.write_text(md.read_text().replace("    </datasources>", fragment + "</datasources>", 1))
    with pytest.raises(fc.BootError) as err:
        fds.load_datasources(home)
    assert err.value.logger == "org.wso2.carbon.ndatasource.core.DataSourceRepository"
    assert err.value.message == (
        "Error in binding to JNDI with name 'jdbc/WSO2OpenBankingDB' - Name WSO2OpenBankingDB "
        "is already bound in this Context (datasource WSO2OB_DB in master-datasources.xml and "
        "datasource WSO2_OPEN_BANKING_DB in open-banking-datasources.xml bind the same JNDI name)"
    )


def test_a_jndi_name_bound_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / DS_DIR).mkdir(parents=True)
    write(tmp_path, "master-datasources.xml", ds_file(
        ("A_DB", "jdbc/Same", h2("A")), ("B_DB", "jdbc/Same", h2("B")),
    ))  # fmt: skip
    with pytest.raises(fc.BootError, match="'jdbc/Same' - Name Same is already bound") as err:
        fds.load_datasources(tmp_path)
    assert "A_DB in master-datasources.xml and datasource B_DB in master-datasources.xml" in str(
        err.value
    )


def test_a_datasource_name_defined_twice_is_refused_in_carbons_words(home: Path) -> None:
    path = write(home, "x-datasources.xml", ds_file(("WSO2_COMMON_DB", "jdbc/Other", h2("O"))))
    with pytest.raises(fc.BootError) as err:
        fds.load_datasources(home)
    assert (
        err.value.logger == "org.wso2.carbon.ndatasource.core.internal.DataSourceServiceComponent"
    )
    assert err.value.message == (  # sic: "intializing", "WSO2_COMMON_DBcan" are Carbon's
        "Error in intializing system data sources: Error in initializing system data sources: "
        f"Error in initializing system data sources at '{path}' - System datasource "
        "WSO2_COMMON_DBcan not be updated."
    )


def test_a_malformed_datasources_file_names_file_and_line(home: Path) -> None:
    path = write(home, "broken-datasources.xml", "<datasources-configuration>\n<datasources>\n")
    with pytest.raises(fc.BootError, match=rf"Error while parsing {path} : .* line 3"):
        fds.load_datasources(home)


def test_the_stock_pack_reads_its_metrics_datasources_too() -> None:
    stock = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
    if not stock.is_dir():
        pytest.skip("../shared/wso2-conf is not available")
    sources = fds.load_datasources(stock)
    assert [(d.name, d.file) for d in sources][-1] == ("WSO2_METRICS_DB", "metrics-datasources.xml")
    assert all(d.url.startswith("jdbc:h2:") for d in sources)
