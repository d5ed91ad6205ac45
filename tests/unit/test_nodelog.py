"""What the wait step reads in a node's log (pure): fatal lines, the cluster join."""

from __future__ import annotations

from wizard.steps import nodelog

UUID = "2bb7975d-5ea7-4c0b-ac5b-5a007240a425"
T = "TID: [-1234] [] [2026-12-02 05:48:56,783]"


def log(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


def test_the_first_fatal_entry_with_its_exception_lines_and_the_fix_of_its_cause() -> None:
    text = log(
        f"{T} INFO {{org.wso2.carbon.core.internal.CarbonCoreActivator}} - Starting WSO2 Carbon...",
        f"{T} ERROR {{org.apache.tomcat.jdbc.pool.ConnectionPool}} - Unable to create initial "
        "connections of pool.",
        "com.mysql.jdbc.exceptions.jdbc4.CommunicationsException: Communications link failure",
        "",
        "The last packet sent successfully to the server was 0 milliseconds ago. The driver "
        "has not received any packets from the server.",
        "Caused by: java.net.UnknownHostException: mysql.lab.test: Name or service not known",
        f"{T} ERROR {{org.wso2.carbon.user.core.internal.Activator}} - Cannot start User "
        "Manager Core bundle",
    )
    fatal = nodelog.first_fatal(text)
    assert fatal is not None
    assert fatal.line.endswith("Unable to create initial connections of pool.")
    assert fatal.detail[0].endswith("Communications link failure")
    assert fatal.detail[-1].startswith("Caused by: java.net.UnknownHostException")
    # the cause decides the fix: a name the node's hosts file lacks, not "the DB is down"
    assert "hosts file" in fatal.fix


def test_a_keystore_failure_of_the_servlet_connector_is_a_keystore_problem() -> None:
    text = log(
        f"{T} ERROR {{org.apache.coyote.http11.Http11NioProtocol}} - Failed to start end point "
        'associated with ProtocolHandler ["http-nio-9443"]',
        "java.io.IOException: Keystore was tampered with, or password was incorrect",
    )
    fatal = nodelog.first_fatal(text)
    assert fatal is not None and "keystorePass" in fatal.fix
    busy = log(
        f"{T} ERROR {{org.apache.coyote.http11.Http11NioProtocol}} - Failed to start end point "
        'associated with ProtocolHandler ["http-nio-9443"]',
        "java.net.BindException: Address already in use",
    )
    fatal = nodelog.first_fatal(busy)
    assert fatal is not None and "port" in fatal.fix


def test_only_the_start_counts_what_comes_after_started_is_not_fatal() -> None:
    text = log(
        f"{T} INFO {{x}} - WSO2 Carbon started in 12 sec",
        f"{T} ERROR {{org.apache.tomcat.jdbc.pool.ConnectionPool}} - Unable to create initial "
        "connections of pool.",
    )
    assert nodelog.first_fatal(text) is None
    # but a port lost before started stays fatal although started came after it (Tomcat)
    before = log(
        f"{T} ERROR {{org.wso2.carbon.tomcat.internal.CarbonTomcat}} - LifeCycleException "
        "while starting tomcat connector",
        f"{T} INFO {{x}} - WSO2 Carbon started in 12 sec",
    )
    assert nodelog.first_fatal(before) is not None
    assert (
        nodelog.first_fatal(log(f"{T} INFO {{x}} - Member joined [{UUID}]: /10.0.0.2:4000")) is None
    )


def test_the_join_uuid_and_a_split_only_during_the_join() -> None:
    joined = log(
        f"{T} INFO {{a}} - Local member: [{UUID}] - Host:10.0.0.3, Remote Host:null, Port: 4000",
        f"{T} INFO {{a}} - Cluster initialization completed",
    )
    assert nodelog.local_member(joined) == UUID
    assert nodelog.split_off(joined, UUID) is None
    alone = log(
        f"{T} INFO {{a}} - Local member: [{UUID}] - Host:10.0.0.3, Remote Host:null, Port: 4000",
        f"{T} INFO {{a}} - Elected this member [{UUID}] as the Coordinator node",
        f"{T} INFO {{a}} - Cluster initialization completed",
    )
    line = nodelog.split_off(alone, UUID)
    assert line is not None and line.endswith(
        f"Elected this member [{UUID}] as the Coordinator node"
    )
    # elected later, when the coordinator left: a member that had joined, not a split
    later = joined + log(f"{T} INFO {{a}} - Elected this member [{UUID}] as the Coordinator node")
    assert nodelog.split_off(later, UUID) is None
    assert nodelog.joined_line(UUID) == f"Member joined [{UUID}]"


def test_the_read_command_starts_at_the_mark_or_at_the_last_boot() -> None:
    marked = nodelog.read_command("/h/repository/logs/wso2carbon.log", 120)
    assert "tail -c +" in marked and "m=120" in marked and '[ "$s" -lt "$m" ] && m=0' in marked
    unmarked = nodelog.read_command("/h/repository/logs/wso2carbon.log", None, grep="a b")
    assert "grep -n -F 'Starting WSO2 Carbon...'" in unmarked
    assert unmarked.endswith("| grep -F -m1 -- 'a b'")
