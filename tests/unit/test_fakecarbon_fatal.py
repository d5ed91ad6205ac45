"""Fail fast on fatal lines (docs/fake-carbon.md D3, CHECKLIST C8).

A real 2.6.0 node does not exit when its start fails: it logs the error, keeps running and
logs ``Waiting for required OSGi services`` every 60 s, never ``WSO2 Carbon started``; a
busy or badly keyed 9443 and a busy 8243 are even followed by ``WSO2 Carbon started``. The
fake does the same, and the wizard's wait step stops at the first fatal line of the start
(host, log path, the line, what to do) instead of running to its deadline. The deadlines
here are long (120 s): a wait that did not stop at the line would end in "not ready after".
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.lab import pack
from wizard.lab.localnode import LocalNodes, free_offset, free_port, java_home, set_text
from wizard.wait import poll

MD = "repository/conf/datasources/master-datasources.xml"
AM_H2 = "<url>jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE</url>"


@pytest.fixture(scope="module")
def keystores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if java_home() is None:
        pytest.skip("keytool (a JDK) is not installed")
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home())
    return folder


@pytest.fixture()
def nodes(tmp_path: Path, keystores: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNodes]:
    monkeypatch.delenv("CARBON_NODE_NAME", raising=False)
    monkeypatch.setenv("CARBON_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("CARBON_HOSTS_FILE", str(tmp_path / "etc-hosts"))
    (tmp_path / "etc-hosts").write_text("127.0.0.1 localhost\n")
    made = LocalNodes(tmp_path, keystores)
    try:
        yield made
    finally:
        made.stop_all()


def mysql_am(url_host: str, port: int, driver: bool = True) -> Callable[[Path, ExitStack], None]:
    def breaks(home: Path, _: ExitStack) -> None:
        set_text(
            home / MD, AM_H2, f"<url>jdbc:mysql://{url_host}:{port}/apimgtdb?useSSL=false</url>"
        )
        if driver:
            pack.make_driver_jar(home / "repository/components/lib")

    return breaks


def hold(base: int) -> Callable[[Path, ExitStack], None]:
    """Something else listens on the node's port ``base`` + offset."""

    def breaks(home: Path, stack: ExitStack) -> None:
        port = base + int(home.name.rsplit("-", 1)[1])
        stack.enter_context(socket.create_server(("127.0.0.1", port)))

    return breaks


def keystore_password(home: Path, _: ExitStack) -> None:
    set_text(home / "repository/conf/carbon.xml", "<Password>wso2carbon</Password>",
             "<Password>not-it</Password>", encoding="iso-8859-1")  # fmt: skip


def user_store_reference(home: Path, _: ExitStack) -> None:
    set_text(home / "repository/conf/user-mgt.xml", ">jdbc/WSO2CarbonDB<", ">jdbc/WSO2UM_DB<")


CASES: dict[str, tuple[Callable[[Path, ExitStack], None], str, str]] = {
    # case: (what breaks, the line the wait reports, a word of its fix)
    "db unreachable": (
        mysql_am("127.0.0.1", free_port()),
        "Unable to create initial connections of pool.",
        "bind-address",
    ),
    "db host unknown": (
        mysql_am("mysql.cw-unit.test", 3306),
        "Unable to create initial connections of pool.",
        "hosts file",
    ),
    "no driver": (
        mysql_am("127.0.0.1", free_port(), driver=False),
        "Unable to create initial connections of pool.",
        "repository/components/lib",
    ),
    "keystore password": (
        keystore_password,
        "Error while loading keystore",
        "keystore",
    ),
    "user store datasource": (
        user_store_reference,
        "Cannot start User Manager Core bundle",
        "user-mgt.xml",
    ),
    "servlet port taken": (
        hold(9443),
        "Failed to start end point associated with ProtocolHandler",
        "port offset",
    ),
    "nio port taken": (
        hold(8243),
        "System may be unstable: HTTPS ListeningIOReactor encountered a checked exception",
        "port offset",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_wait_stops_at_the_first_fatal_line_with_host_log_and_fix(
    nodes: LocalNodes, case: str
) -> None:
    breaks, line, fix = CASES[case]
    offset = free_offset()
    name = f"node-{offset}"
    home = nodes.add(name)
    with ExitStack() as stack:
        breaks(home, stack)
        nodes.start(name, offset)
        with pytest.raises(WizardError) as err:
            nodes.wait(name, timeout=120)
    text = err.value.render()
    assert f"{name} will not start: its log says" in text
    assert line in text, text
    assert f"{home}/repository/logs/wso2carbon.log" in text
    assert err.value.where.host == name
    assert fix in (err.value.fix or ""), err.value.fix
    assert "not ready after" not in text and "stopped while starting" not in text
    pid = nodes.pid(name)
    assert pid is not None and nodes.transport.run(["kill", "-0", str(pid)]).ok  # still runs


def test_a_failed_start_keeps_running_and_waits_for_its_services(
    nodes: LocalNodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARBON_FAKE_OSGI_WAIT", "0.3")
    home = nodes.add("n")
    user_store_reference(home, ExitStack())
    nodes.start("n")
    waiting = (
        "WARN {org.wso2.carbon.core.internal.StartupFinalizerServiceComponent} - Waiting for "
        "required OSGi services: org.wso2.carbon.user.core.service.RealmService,"
    )
    poll(lambda: nodes.log("n").count(waiting) >= 2, deadline=20, what="two Waiting lines")
    log = nodes.log("n")
    assert (
        "ERROR {org.wso2.carbon.user.core.internal.Activator} - Cannot start User Manager Core "
        "bundle\njava.lang.RuntimeException: Error in looking up data source: "
        "javax.naming.NameNotFoundException: Name WSO2UM_DB is not bound in this Context" in log
    )
    assert "WSO2 Carbon started" not in log
    assert nodes.pid("n") is not None and (home / "wso2carbon.pid").exists()
