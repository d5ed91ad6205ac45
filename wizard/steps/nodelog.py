"""What a node's ``wso2carbon.log`` says about its start: fatal lines and the cluster join.

A real API Manager 2.6.0 node does not exit when its start fails: it logs the error and
keeps running (``Waiting for required OSGi services`` every 60 s), and some failures (a
busy or badly keyed 9443, a busy 8243) are even followed by ``WSO2 Carbon started``
(docs/fake-carbon.md, D3). So the wait step reads the node's log from its start mark and
stops at the first fatal line. The texts are the real ones (carbon-kernel 4.4.35, Tomcat
7, Synapse, tomcat-jdbc, Connector/J 5.1, the JDK); each comes with what to do.

Cluster join (D1): only members already running log ``Member joined [<uuid>]`` for a
newcomer, whose uuid is in its own ``Local member: [<uuid>] - ...`` line; a newcomer that
logs ``Elected this member [<its uuid>] as the Coordinator node`` before ``Cluster
initialization completed`` found nobody and formed a cluster of its own.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

BOOT_LINE = "Starting WSO2 Carbon..."  # CarbonCoreActivator, the first line of every start
READY_LINE = "WSO2 Carbon started in"
ENTRY_HEAD = "TID: ["  # log4j's layout: every entry starts so; exception lines do not
DETAIL_LINES = 4

_PORT = (
    "a port of this node is taken by another process on the host (see the line): stop that "
    "process, or give this node another port offset (answers nodes[].offset); then resume"
)
_KEYSTORE = (
    "a key store password does not open its key store: check carbon.xml Security/KeyStore, "
    "catalina-server.xml keystorePass and axis2.xml KeyStore/Password against the key "
    "store file (answers keystore.*); then resume"
)
_DNS = (
    "the node cannot resolve a host name: map it in the node's hosts file (the wizard's "
    "hosts_entry step writes the DB alias there) or use an address; then resume"
)
_DB_REACH = (
    "the node cannot reach its database: check the host and port of the JDBC URLs in "
    "repository/conf/datasources/*-datasources.xml, that the DB server listens on that "
    "address (bind-address) and that no firewall is between them; then resume"
)
_DB_AUTH = (
    "the database refuses the datasource's user: check the user, its password and its "
    "grants for this node's address (the wizard's database steps); then resume"
)
_DB_SHA2 = (
    "the MySQL account uses caching_sha2_password: add allowPublicKeyRetrieval=true to the "
    "JDBC URLs (or connect with TLS) and use Connector/J 5.1.46 or later; then resume"
)
_DRIVER = (
    "the MySQL JDBC driver is missing: copy mysql-connector-java-5.1.x.jar into "
    "repository/components/lib (the wizard's driver step); then resume"
)
_TABLES = (
    "a database lacks the product's tables: run its dbscript (the wizard's dbscript steps) "
    "or start once with -Dsetup; then resume"
)
_REFS = (
    "a datasource the product uses is missing or unusable: user-mgt.xml, registry.xml and "
    "api-manager.xml must name JNDI names that repository/conf/datasources/"
    "*-datasources.xml define, and the lines above say why the datasource failed; then resume"
)
_DUPS = (
    "two datasources share a name or a JNDI name in repository/conf/datasources/"
    "*-datasources.xml: keep one of them; then resume"
)
_CLUSTER = (
    "the cluster could not start: axis2.xml localMemberHost must be an address of this host "
    "and localMemberPort (and the 99 after it) free; then resume"
)
_OSGI = "a required component did not start: the lines above name it; fix it and resume"

# (text in an entry, what to do): the first text found in the first fatal entry decides,
# so causes (key store, DNS, credentials) come before the symptoms they share.
FATAL: tuple[tuple[str, str], ...] = (
    ("Keystore was tampered with, or password was incorrect", _KEYSTORE),
    ("Error opening Key store", _KEYSTORE),
    ("UnknownHostException", _DNS),
    ("Access denied for user", _DB_AUTH),
    ("Public Key Retrieval is not allowed", _DB_SHA2),
    ("Unable to load authentication plugin", _DB_SHA2),
    ("ClassNotFoundException: com.mysql", _DRIVER),
    ("Communications link failure", _DB_REACH),
    ("Unable to create initial connections of pool", _DB_REACH),
    ("Cannot create PoolableConnectionFactory", _DB_REACH),
    ("MySQLSyntaxErrorException", _TABLES),
    ("Address already in use", _PORT),
    ("Failed to start end point associated with ProtocolHandler", _PORT),
    ("LifeCycleException while starting tomcat connector", _PORT),
    ("ListeningIOReactor encountered a checked exception", _PORT),
    ("Could not create ServerSocket on address", _PORT),
    ("Hazelcast cannot start", _CLUSTER),
    ("Cannot initialize cluster", _CLUSTER),
    ("Error in intializing system data sources", _DUPS),  # sic, Carbon's spelling
    ("Error in binding to JNDI with name", _DUPS),
    ("Cannot start User Manager Core bundle", _REFS),
    ("Failed to activate Registry Core bundle", _REFS),
    ("Error in looking up data source", _REFS),
    ("Error while initializing the API manager component", _REFS),
    ("Waiting for required OSGi services", _OSGI),
)

_LOCAL_MEMBER = re.compile(r"Local member: \[([0-9a-fA-F-]+)\]")


@dataclass(frozen=True)
class Fatal:
    line: str  # the entry's first line
    detail: tuple[str, ...]  # the exception lines after it
    fix: str

    def text(self) -> str:
        return "\n".join(f"  {ln}" for ln in (self.line, *self.detail))


def read_command(log: str, mark: int | None, grep: str | None = None) -> str:
    """A shell command printing the log from byte ``mark`` (a rolled, smaller log: from
    its start), or, without a mark, from the last start of the node; through ``grep -F``
    (first match) when given."""
    q = shlex.quote(log)
    if mark is None:
        head = (
            f"n=$(grep -n -F {shlex.quote(BOOT_LINE)} {q} 2>/dev/null | tail -1 | cut -d: -f1); "
            f'tail -n +"${{n:-1}}" {q} 2>/dev/null'
        )
    else:
        head = (
            f"s=$(stat -c %s {q} 2>/dev/null || echo 0); m={int(mark)}; "
            f'[ "$s" -lt "$m" ] && m=0; tail -c +"$((m + 1))" {q} 2>/dev/null'
        )
    if grep is not None:
        return f"{{ {head}; }} | grep -F -m1 -- {shlex.quote(grep)}"
    return head


def read(transport: Any, log: str, mark: int | None, grep: str | None = None) -> str:
    return transport.run(read_command(log, mark, grep), timeout=30).out


def boot_window(text: str) -> str:
    """The start: up to and including ``WSO2 Carbon started`` (the whole text before it).
    What a node logs later (a database restarted hours after) is not about its start."""
    at = text.find(READY_LINE)
    if at < 0:
        return text
    end = text.find("\n", at)
    return text if end < 0 else text[: end + 1]


def entries(text: str) -> list[list[str]]:
    """Log entries: a ``TID: [`` line and the exception lines after it."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(ENTRY_HEAD) or not out:
            out.append([line])
        else:
            out[-1].append(line)
    return out


def first_fatal(text: str) -> Fatal | None:
    """The first entry of the start that means it will not succeed, with what to do."""
    for entry in entries(boot_window(text)):
        joined = "\n".join(entry)
        for needle, fix in FATAL:
            if needle in joined:
                detail = tuple(ln for ln in entry[1:] if ln.strip())[:DETAIL_LINES]
                return Fatal(entry[0].strip(), detail, fix)
    return None


def local_member(text: str) -> str | None:
    """The uuid of this start's ``Local member: [<uuid>]`` line (the last one)."""
    found = _LOCAL_MEMBER.findall(text)
    return found[-1] if found else None


def split_off(text: str, uuid: str) -> str | None:
    """The ``Elected this member [<uuid>] as the Coordinator node`` line when it came
    during the join (before ``Cluster initialization completed``): nobody was found."""
    at = text.rfind(f"Local member: [{uuid}]")
    if at < 0:
        return None
    done = text.find("Cluster initialization completed", at)
    window = text[at:] if done < 0 else text[at:done]
    elected = window.find(f"Elected this member [{uuid}] as the Coordinator node")
    if elected < 0:
        return None
    start = text.rfind("\n", 0, at + elected) + 1
    end = text.find("\n", at + elected)
    return text[start : end if end >= 0 else None].strip()


def joined_line(uuid: str) -> str:
    """What a member already running logs for the newcomer (WKABasedMembershipScheme)."""
    return f"Member joined [{uuid}]"
