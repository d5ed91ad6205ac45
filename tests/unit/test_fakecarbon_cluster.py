"""Cluster join (docs/fake-carbon.md D1): the fake logs the Hazelcast WKA join as
carbon-kernel 4.4.35 does, and the wizard's wait step reads the right node's log.

Real: the listener that logs ``Member joined`` is added after the node joined, so only the
members already running log the newcomer; the newcomer logs its own ``Local member:
[<uuid>]`` line and ``Elected this member ... as the Coordinator node`` only when it found
nobody. Nodes run on this machine (127.0.0.1), started and awaited by the wizard's own
start and wait steps.
"""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.errors import WizardError
from wizard.lab import pack
from wizard.lab.localnode import LocalNodes, cluster, free_port, java_home
from wizard.wait import poll

UUID = r"[0-9a-f-]{36}"
AGENT = "{org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent}"
WKA = "{org.wso2.carbon.core.clustering.hazelcast.wka.WKABasedMembershipScheme}"


@pytest.fixture(scope="module")
def keystores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if java_home() is None:
        pytest.skip("keytool (a JDK) is not installed")
    folder = tmp_path_factory.mktemp("keystores")
    pack.make_stock_keystores(folder, java_home())
    return folder


@pytest.fixture()
def nodes(tmp_path: Path, keystores: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNodes]:
    for key in ("CARBON_HOSTS_FILE", "CARBON_NODE_NAME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CARBON_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("CARBON_FAKE_JOIN_SECONDS", "1")
    made = LocalNodes(tmp_path, keystores)
    try:
        yield made
    finally:
        made.stop_all()


def pair(nodes: LocalNodes, b_members: list[int] | None = None) -> tuple[int, int]:
    """Node a (WKA: b) and node b (WKA: a, or ``b_members``); their member ports."""
    a_port, b_port = free_port(), free_port()
    cluster(nodes.add("a"), a_port, [b_port])
    cluster(nodes.add("b"), b_port, [a_port] if b_members is None else b_members)
    return a_port, b_port


def test_only_the_running_member_logs_the_newcomer_and_the_wait_reads_its_log(
    nodes: LocalNodes,
) -> None:
    a_port, b_port = pair(nodes)
    nodes.start("a")
    nodes.wait("a")
    nodes.start("b")
    # the plan's wait of a joiner: 2 members, the member already running is a
    outcome = nodes.wait("b", members=2, cluster_peers=[nodes.peer("a")])
    assert outcome.satisfied
    a, b = nodes.log("a"), nodes.log("b")
    (b_uuid,) = re.findall(rf"Local member: \[({UUID})\] - ", b)
    # the joiner's own lines, in carbon-kernel 4.4.35's words, before its started line
    for line in (
        f"{AGENT} - Cluster domain: wso2.carbon.domain",
        f"{AGENT} - Using wka based membership management scheme",
        f"{{org.wso2.carbon.core.clustering.hazelcast.util.MemberUtils}} - Added member: "
        f"Host:127.0.0.1, Remote Host:null, Port: {a_port}, HTTP:-1, HTTPS:-1, Domain: null, "
        "Sub-domain:null, Active:true",
        f"{AGENT} - Local member: [{b_uuid}] - Host:127.0.0.1, Remote Host:null, Port: "
        f"{b_port}, HTTP:8280, HTTPS:8243, Domain: wso2.carbon.domain, Sub-domain:worker, "
        "Active:true",
        f"{AGENT} - Cluster initialization completed",
    ):
        assert line in b, line
    assert b.index("Cluster initialization completed") < b.index("WSO2 Carbon started in")
    assert "Member joined" not in b and "Elected this member" not in b
    assert "Members [" not in a + b  # Hazelcast's own block is hidden by the log config
    # the first node was alone (coordinator) and names the newcomer by its uuid
    assert re.search(rf"{re.escape(AGENT)} - Elected this member \[{UUID}\] as the Coordinator", a)
    assert f"{WKA} - Member joined [{b_uuid}]: /127.0.0.1:{b_port}" in a


def test_a_graceful_stop_is_a_member_left_on_the_others(nodes: LocalNodes) -> None:
    pair(nodes)
    nodes.start("a")
    nodes.wait("a")
    nodes.start("b")
    nodes.wait("b", members=2, cluster_peers=[nodes.peer("a")])
    b_uuid = re.findall(rf"Local member: \[({UUID})\]", nodes.log("b"))[0]
    pid = nodes.pid("b")
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # what wso2server.sh stop sends
    poll(lambda: f"Member left [{b_uuid}]" in nodes.log("a"), deadline=20, what="member left")
    assert re.search(r"WKA member Host:127\.0\.0\.1, .* left cluster\.", nodes.log("a"))


def test_a_joiner_that_finds_nobody_fails_its_wait_at_once(nodes: LocalNodes) -> None:
    """WKA list without the running node: the newcomer elects itself coordinator during its
    join; the wait stops there (it would never see Member joined) with what to check."""
    pair(nodes, b_members=[free_port()])
    nodes.start("a")
    nodes.wait("a")
    nodes.start("b")
    with pytest.raises(WizardError) as err:
        nodes.wait("b", timeout=120, members=2, cluster_peers=[nodes.peer("a")])
    text = err.value.render()
    assert "did not join the cluster of a" in text
    assert "elected itself coordinator" in text
    assert re.search(rf"Elected this member \[{UUID}\] as the Coordinator node", text)
    assert f"{nodes.homes['b']}/repository/logs/wso2carbon.log" in text
    assert err.value.where.host == "b"
    assert "WKA <members>" in (err.value.fix or "") and "firewall" in (err.value.fix or "")
    assert "not ready after" not in text  # it did not run to the deadline


def test_a_busy_member_port_makes_hazelcast_take_the_next_one(nodes: LocalNodes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        cluster(nodes.add("a"), port, [free_port()])
        nodes.start("a")
        nodes.wait("a")
    local = re.search(r"Local member: \[[0-9a-f-]+\] - Host:127\.0\.0\.1, Remote Host:null, "
                      r"Port: (\d+),", nodes.log("a"))  # fmt: skip
    assert local is not None and int(local.group(1)) > port
