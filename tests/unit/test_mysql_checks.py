"""Database checks that need no server: names, hosts, flavours, privileges, variants."""

from __future__ import annotations

import ssl

import pytest

from wizard.connectors.mysql import MySQL, _tls_context
from wizard.connectors.mysql_checks import (
    ServerInfo,
    check_host_pattern,
    check_name,
    native_password_hash,
    parse_global_privileges,
)
from wizard.db.scripts import pick_variant
from wizard.errors import WizardError
from wizard.secrets import Secret


@pytest.mark.parametrize("name", ["apimgtdb", "openbank_userdb", "WSO2_AM_DB", "a1", "x" * 64])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["x; DROP DATABASE y", "abc\n", "a`b", "a'b", 'a"b', "a b", "a-b", "", "x" * 65, "db.*", "é"],
)
def test_bad_names_are_bad_input(name):
    with pytest.raises(WizardError) as err:
        check_name(name)
    assert err.value.exit_code == 2 and "letters, digits and _" in (err.value.fix or "")


@pytest.mark.parametrize(
    "host",
    ["%", "localhost", "10.0.0.5", "192.168.1.%", "10.%", "10.0.0.0/255.255.255.0", "::1",
     "fe80::1", "node-1.example.com", "db1"],
)  # fmt: skip
def test_good_host_patterns(host):
    assert check_host_pattern(host) == host


@pytest.mark.parametrize(
    "host",
    ["%'; DROP USER root; --", "a`b", "h'x", "1.2.3.4 OR 1=1", "256.1.1.1", "-bad.example",
     "%.%", "a..b", "", "x" * 300, "10.0.0.1\n", "1.2.3"],
)  # fmt: skip
def test_bad_host_patterns(host):
    with pytest.raises(WizardError) as err:
        check_host_pattern(host)
    assert err.value.exit_code == 2


def test_server_flavour_and_capabilities():
    maria = ServerInfo.parse("10.11.19-MariaDB-0+deb12u1", "Debian 12")
    assert (maria.flavour, maria.version, str(maria)) == (
        "mariadb",
        (10, 11, 19),
        "MariaDB 10.11.19",
    )
    assert maria.wants_57_scripts and maria.user_if_not_exists and maria.alter_user
    old_maria = ServerInfo.parse("10.0.38-MariaDB", "MariaDB Server")
    assert not old_maria.wants_57_scripts and not old_maria.user_if_not_exists
    assert old_maria.variant == "mysql" and maria.variant == "mysql5.7"
    mysql8 = ServerInfo.parse("8.0.36", "MySQL Community Server - GPL")
    assert mysql8.flavour == "mysql" and mysql8.wants_57_scripts and mysql8.user_if_not_exists
    mysql56 = ServerInfo.parse("5.6.51-log", "MySQL Community Server (GPL)")
    assert not mysql56.wants_57_scripts and not mysql56.alter_user


@pytest.mark.parametrize(
    ("path", "version", "expected"),
    [
        (
            "/h/wso2/dbscripts/apimgt/mysql.sql",
            "10.11.2-MariaDB",
            "/h/wso2/dbscripts/apimgt/mysql5.7.sql",
        ),
        ("/h/wso2/dbscripts/mysql5.7.sql", "5.6.40", "/h/wso2/dbscripts/mysql.sql"),
        ("/h/wso2/dbscripts/apimgt", "8.0.36", "/h/wso2/dbscripts/apimgt/mysql5.7.sql"),
        ("/h/wso2/dbscripts/apimgt/", "5.7.44", "/h/wso2/dbscripts/apimgt/mysql5.7.sql"),
        ("/h/ob/dbscripts/openbanking.sql", "8.0.36", "/h/ob/dbscripts/openbanking.sql"),
    ],
)
def test_pick_variant(path, version, expected):
    assert pick_variant(path, ServerInfo.parse(version, "")) == expected


def test_privileges_mariadb_all_with_grant_option():
    grants = [
        "GRANT ALL PRIVILEGES ON *.* TO `cwadmin`@`%` IDENTIFIED BY PASSWORD '*2928' WITH GRANT OPTION",
        "GRANT SELECT ON `test`.* TO PUBLIC",
    ]
    have = parse_global_privileges(grants)
    assert {"CREATE", "CREATE USER", "GRANT OPTION", "DROP"} <= have


def test_privileges_mysql8_list_and_db_level_grants_do_not_count():
    grants = [
        "GRANT SELECT, INSERT, CREATE, CREATE USER ON *.* TO `a`@`%`",
        "GRANT ALL PRIVILEGES ON `apim`.* TO `a`@`%` WITH GRANT OPTION",
        "GRANT `dba`@`%` TO `a`@`%`",
    ]
    have = parse_global_privileges(grants)
    assert "CREATE USER" in have and "SELECT" in have
    assert "GRANT OPTION" not in have and "DROP" not in have


def test_all_without_grant_option():
    have = parse_global_privileges(["GRANT ALL PRIVILEGES ON *.* TO `a`@`localhost`"])
    assert "CREATE" in have and "GRANT OPTION" not in have


def test_native_password_hash_matches_server_password_function():
    # SELECT PASSWORD('adm1n-pw-h5') on MariaDB 10.11
    assert native_password_hash("adm1n-pw-h5") == "*2928D3990DE681E63DABB4AD43AEDBE20E300484"


def test_tls_modes():
    assert _tls_context("off", None) is None and _tls_context("preferred", None) is None
    required = _tls_context("required", None)
    assert required.verify_mode == ssl.CERT_NONE and not required.check_hostname
    ca_only = _tls_context("verify-ca", None)
    assert ca_only.verify_mode == ssl.CERT_REQUIRED and not ca_only.check_hostname
    full = _tls_context("verify-identity", None)
    assert full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname
    with pytest.raises(WizardError, match="unknown TLS mode"):
        MySQL("127.0.0.1", 3306, "a", Secret("pw-x"), tls="on")  # type: ignore[arg-type]
