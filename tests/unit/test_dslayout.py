"""Where each database lands (wizard/planning/dslayout.py): by the references a home makes today,
by the pattern's JNDI name in whatever datasource file holds it, by name, else new."""

from __future__ import annotations

from wizard.planning.dslayout import MASTER, DataSource, Ref, Want, resolve

OB_FILE = "repository/conf/datasources/open-banking-datasources.xml"
MYSQL = "jdbc:mysql://mysql:3306/{}?autoReconnect=true&useSSL=false"


def ds(name: str, jndi: str, url: str = "", file: str = MASTER) -> DataSource:
    return DataSource(file, name, jndi, url)


def want(key: str, ds_name: str, jndi: str, database: str) -> Want:
    return Want(key, ds_name, jndi, database, "apimuser")


STOCK = [
    ds("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "jdbc:h2:repository/database/WSO2CARBON_DB"),
    ds("WSO2AM_DB", "jdbc/WSO2AM_DB", "jdbc:h2:repository/database/WSO2AM_DB"),
]


def test_stock_home_updates_the_am_datasource_and_adds_the_others() -> None:
    refs = [Ref("um", "repository/conf/user-mgt.xml", "x", "user-mgt.xml", "jdbc/WSO2CarbonDB")]
    lay = resolve(
        [want("am", "WSO2AM_DB", "jdbc/WSO2AM_DB", "apimgtdb"),
         want("um", "WSO2UM_DB", "jdbc/WSO2UM_DB", "userdb")],
        STOCK, refs, keep_local=frozenset({"WSO2_CARBON_DB"}),
    )  # fmt: skip
    am, um = lay.placements["am"], lay.placements["um"]
    assert (am.how, am.file, am.exists) == ("found", MASTER, True)
    assert (um.how, um.file, um.jndi, um.exists) == ("new", MASTER, "jdbc/WSO2UM_DB", False)
    # the local WSO2_CARBON_DB is never taken over; the reference moves to the new one
    assert any("jdbc/WSO2CarbonDB (WSO2_CARBON_DB) -> jdbc/WSO2UM_DB" in n for n in lay.notes)


def test_a_datasource_in_another_file_is_updated_there_never_bound_twice() -> None:
    sources = [*STOCK, ds("WSO2_OPEN_BANKING_DB", "jdbc/WSO2OpenBankingDB",
                          MYSQL.format("openbank_openbankingdb"), OB_FILE)]  # fmt: skip
    refs = [Ref("ob", "repository/conf/finance/open-banking.xml", "x", "open-banking.xml",
                "jdbc/WSO2OpenBankingDB")]  # fmt: skip
    lay = resolve([want("ob", "WSO2OB_DB", "jdbc/WSO2OpenBankingDB", "obdb")], sources, refs)
    ob = lay.placements["ob"]
    assert (ob.file, ob.name, ob.jndi, ob.exists) == (
        OB_FILE, "WSO2_OPEN_BANKING_DB", "jdbc/WSO2OpenBankingDB", True)  # fmt: skip
    assert ob.locator.endswith("datasource[jndiConfig/name='jdbc/WSO2OpenBankingDB']")


def test_an_h2_datasource_on_the_patterns_jndi_name_is_taken_over() -> None:
    sources = [ds("WSO2_OPEN_BANKING_DB", "jdbc/WSO2OpenBankingDB", "jdbc:h2:x", OB_FILE)]
    lay = resolve([want("ob", "WSO2OB_DB", "jdbc/WSO2OpenBankingDB", "obdb")], sources, [])
    assert lay.placements["ob"].how == "found" and lay.placements["ob"].file == OB_FILE


def _common_refs(now: str = "jdbc/WSO2CommonDB") -> list[Ref]:
    return [
        Ref("um", "repository/conf/user-mgt.xml", "a", "user-mgt.xml dataSource", now),
        Ref("config", "repository/conf/registry.xml", "b", "registry.xml config", now),
        Ref("reg", "repository/conf/registry.xml", "c", "registry.xml gov", now),
    ]


COMMON = [*STOCK, ds("WSO2_COMMON_DB", "jdbc/WSO2CommonDB", MYSQL.format("openbank_commondb"))]


def test_a_shared_datasource_is_reused_when_the_answers_share_the_database() -> None:
    wants = [want("um", "WSO2UM_DB", "jdbc/WSO2UM_DB", "commondb"),
             want("config", "WSO2CONFIG_DB", "jdbc/WSO2Config_DB", "commondb"),
             want("reg", "WSO2REG_DB", "jdbc/WSO2REG_DB", "commondb")]  # fmt: skip
    lay = resolve(wants, COMMON, _common_refs())
    for key in ("um", "config", "reg"):
        p = lay.placements[key]
        assert (p.name, p.jndi, p.how) == ("WSO2_COMMON_DB", "jdbc/WSO2CommonDB", "reused"), key
    assert not [n for n in lay.notes if "->" in n]  # no reference moves


def test_a_shared_datasource_with_different_databases_is_left_and_reported() -> None:
    wants = [want("um", "WSO2UM_DB", "jdbc/WSO2UM_DB", "userdb"),
             want("config", "WSO2CONFIG_DB", "jdbc/WSO2Config_DB", "configdb"),
             want("reg", "WSO2REG_DB", "jdbc/WSO2REG_DB", "govdb")]  # fmt: skip
    lay = resolve(wants, COMMON, _common_refs(), targets=frozenset({"db:3306/userdb"}))
    assert {p.how for p in lay.placements.values()} == {"new"}
    text = "\n".join(lay.notes)
    assert "serves um, config, reg today" in text
    assert "answer the same database name" in text
    assert "WSO2_COMMON_DB (datasources/master-datasources.xml, mysql:3306/openbank_commondb)" \
        " is no longer referenced" in text  # fmt: skip


def test_a_kept_local_datasource_is_never_reused_even_on_mysql() -> None:
    """WSO2_CARBON_DB on MySQL (production setups do that) still holds the node's local
    registry: user-mgt.xml naming it does not make it the shared user store."""
    sources = [ds("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", MYSQL.format("carbondb"))]
    refs = [Ref("um", "repository/conf/user-mgt.xml", "x", "user-mgt.xml", "jdbc/WSO2CarbonDB")]
    lay = resolve([want("um", "WSO2UM_DB", "jdbc/WSO2UM_DB", "userdb")], sources, refs,
                  keep_local=frozenset({"WSO2_CARBON_DB"}))  # fmt: skip
    assert lay.placements["um"].how == "new"


def test_found_by_name_keeps_its_jndi_name_and_references_follow() -> None:
    sources = [ds("WSO2UM_DB", "jdbc/MyUsers", MYSQL.format("users"))]
    lay = resolve([want("um", "WSO2UM_DB", "jdbc/WSO2UM_DB", "userdb")], sources, [])
    p = lay.placements["um"]
    assert (p.how, p.jndi) == ("by-name", "jdbc/MyUsers")


def test_a_jndi_name_bound_twice_in_the_home_is_reported() -> None:
    sources = [ds("A", "jdbc/X", MYSQL.format("a")), ds("B", "jdbc/X", MYSQL.format("b"), OB_FILE)]
    lay = resolve([], sources, [])
    assert any("jdbc/X is bound twice" in n for n in lay.notes)


def test_a_datasource_on_a_database_the_answers_do_not_use_is_reported() -> None:
    sources = [*STOCK, ds("WSO2_MB_STORE_DB", "WSO2MBStoreDB", MYSQL.format("mbstore"))]
    lay = resolve([want("am", "WSO2AM_DB", "jdbc/WSO2AM_DB", "apimgtdb")], sources, [])
    assert any("WSO2_MB_STORE_DB" in n and "do not use" in n for n in lay.notes)
    lay = resolve([want("am", "WSO2AM_DB", "jdbc/WSO2AM_DB", "apimgtdb")], sources, [],
                  targets=frozenset({"mysql:3306/mbstore"}))  # fmt: skip
    assert not any("WSO2_MB_STORE_DB" in n for n in lay.notes)
