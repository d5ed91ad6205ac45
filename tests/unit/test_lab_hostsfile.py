"""The fake Carbon resolves host names through its host's hosts file only (pure, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.lab import fakecarbon_hosts as fh

HOSTS = """# hosts file of a carbon-wizard lab host
127.0.0.1\tlocalhost
::1 ip6-localhost ip6-loopback
# BEGIN carbon-wizard apim-all-in-one
127.0.0.1 mysql.cw-lab-x.test
127.0.0.2 apim.cw-lab-x.test apim  # the LB
# END carbon-wizard apim-all-in-one
127.0.0.9 APIM.cw-lab-x.test
not-an-ip some.name
10.0.0.1
"""


def test_hosts_lines_parse_like_glibc() -> None:
    names = fh.parse_hosts(HOSTS)
    assert names["mysql.cw-lab-x.test"] == "127.0.0.1"
    assert names["apim.cw-lab-x.test"] == "127.0.0.2"  # the first line naming it wins
    assert names["apim"] == "127.0.0.2"
    assert names["ip6-loopback"] == "::1"
    assert "some.name" not in names and "#" not in names and "the" not in names


def test_names_resolve_through_the_file_ip_literals_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "etc-hosts"
    path.write_text(HOSTS)
    r = fh.Resolver(path)
    assert r.resolve("MySQL.cw-lab-x.test") == "127.0.0.1"
    assert r.resolve("10.1.2.3") == "10.1.2.3"
    assert r.resolve("[::1]") == "::1"
    with pytest.raises(fh.UnknownHost) as err:
        r.resolve("db.example.test")
    assert err.value.java == (
        "java.net.UnknownHostException: db.example.test: Name or service not known"
    )
    # the wizard's managed block removed, then back with another address: both noticed
    path.write_text("127.0.0.1 localhost\n")
    with pytest.raises(fh.UnknownHost):
        r.resolve("mysql.cw-lab-x.test")
    path.write_text("127.0.0.5 mysql.cw-lab-x.test\n")
    assert r.resolve("mysql.cw-lab-x.test") == "127.0.0.5"


def test_a_missing_hosts_file_resolves_no_name(tmp_path: Path) -> None:
    r = fh.Resolver(tmp_path / "none")
    assert r.resolve("127.0.0.1") == "127.0.0.1"
    with pytest.raises(fh.UnknownHost):
        r.resolve("localhost")


def test_the_hosts_file_comes_from_the_host_environment(tmp_path: Path) -> None:
    assert fh.Resolver.from_env({}).hosts_file == Path("/etc/hosts")
    env = {fh.HOSTS_FILE_ENV: str(tmp_path / "etc-hosts")}
    assert fh.Resolver.from_env(env).hosts_file == tmp_path / "etc-hosts"
