"""The fake Carbon node's clustering: Hazelcast WKA membership, logged as carbon-kernel
v4.4.35 logs it.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).

What the real node does (``HazelcastClusteringAgent.init``, ``WKABasedMembershipScheme``,
``MemberUtils``; docs/fake-carbon-evidence.md section a):

- ``init`` logs ``Cluster domain: D``, ``Loading hazelcast configuration from axis2
  clustering configuration``, the loopback WARN for exactly 127.0.0.1/localhost, ``Using
  wka based membership management scheme``, ``Added member: <Member>`` per WKA member
  (logger MemberUtils), ``Hazelcast cluster is initializing...``; then
  ``Hazelcast.newHazelcastInstance`` joins (blocking), ``Hazelcast initialized in N ms``,
  ``Local member: [<uuid>] - <Member>`` (the bound IP and port), ``Elected this member
  [<uuid>] as the Coordinator node`` only when it is the oldest member (it found nobody),
  and ``Cluster initialization completed``. All of it before ``WSO2 Carbon started``.
- The membership listener that logs ``Member joined [<uuid>]: /<ip>:<port>`` (logger
  WKABasedMembershipScheme) is added after the join: only members already running log a
  newcomer; the newcomer logs nothing about the members it found. ``Member left
  [<uuid>]: /<ip>:<port>`` (+ ``WKA member <Member> left cluster.``) when one goes.
- Hazelcast's own lines (``Members [2] {``) are hidden (JUL SEVERE, log4j root ERROR).
- Port auto-increment: a busy localMemberPort makes Hazelcast bind the next one (100
  ports); all busy: ``Hazelcast cannot start`` -> ``Cannot initialize cluster``.

The stand-in protocol (one line per TCP connection): a joiner sends ``JOIN`` to the WKA
members; a member already in a cluster answers ``WELCOME`` with the member list (oldest
first), logs ``Member joined`` and tells the others (``ADDED``); a member still joining
answers ``WAIT``; another domain gets ``REJECT`` (a Hazelcast group mismatch). A joiner
that hears no ``WELCOME`` within the join window is alone: the oldest member, so it
elects itself coordinator. Two joiners waiting on each other settle like Hazelcast: the
lower address becomes the first member. Members ping each other; a member that misses
``LEAVE_AFTER`` pings, or says ``LEFT`` on shutdown, has left.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import uuid
from dataclasses import dataclass

try:  # run as bin/fakecarbon.py: the sibling modules are top-level
    from fakecarbon_checks import BootError  # type: ignore[import-not-found]
    from fakecarbon_hosts import Resolver, UnknownHost  # type: ignore[import-not-found]
    from fakecarbon_node import ClusterConfig  # type: ignore[import-not-found]
    from fakecarbon_services import CarbonLog  # type: ignore[import-not-found]
except ImportError:  # imported as wizard.lab.fakecarbon_cluster (tests)
    from wizard.lab.fakecarbon_checks import BootError
    from wizard.lab.fakecarbon_hosts import Resolver, UnknownHost
    from wizard.lab.fakecarbon_node import ClusterConfig
    from wizard.lab.fakecarbon_services import CarbonLog

AGENT = "org.wso2.carbon.core.clustering.hazelcast.HazelcastClusteringAgent"
WKA = "org.wso2.carbon.core.clustering.hazelcast.wka.WKABasedMembershipScheme"
MEMBER_UTILS = "org.wso2.carbon.core.clustering.hazelcast.util.MemberUtils"
FINALIZER = "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent"
PORT_COUNT = 100  # Hazelcast's port-count with auto-increment (Carbon leaves it on)
DEFAULT_JOIN_SECONDS = 3.0


def _j(value: object) -> str:
    """Java's string concatenation of a value (null for None)."""
    return "null" if value is None else str(value)


def member_text(
    host: str,
    port: int,
    http: int = -1,
    https: int = -1,
    domain: str | None = None,
    sub_domain: str | None = None,
) -> str:
    """axis2 ``org.apache.axis2.clustering.Member.toString()`` (wso2-axis2 v1.6.1-wso2v28)."""
    return (
        f"Host:{host}, Remote Host:null, Port: {port}, HTTP:{http}, HTTPS:{https}, "
        f"Domain: {_j(domain)}, Sub-domain:{_j(sub_domain)}, Active:true"
    )


@dataclass(frozen=True)
class Peer:
    """A cluster member: its uuid, advertised host (as configured), IP, port and ports."""

    uuid: str
    host: str
    ip: str
    port: int
    http: int = -1
    https: int = -1
    sub: str = "null"

    def wire(self) -> str:
        return ",".join((self.uuid, self.host, self.ip, str(self.port), str(self.http),
                         str(self.https), self.sub))  # fmt: skip

    @classmethod
    def parse(cls, text: str) -> Peer:
        u, host, ip, port, http, https, sub = text.split(",")
        return cls(u, host, ip, int(port), int(http), int(https), sub)

    @property
    def address(self) -> str:
        """``InetSocketAddress.toString()``: ``/ip:port``, ``name/ip:port`` for a name."""
        name = "" if self.host == self.ip else self.host
        return f"{name}/{self.ip}:{self.port}"

    def key(self) -> tuple[int, int]:
        return (int(ipaddress.ip_address(self.ip)), self.port)


def _ask(ip: str, port: int, line: str, timeout: float = 1.0) -> str:
    """Send one line, return the answer line ('' when nothing answers)."""
    try:
        with socket.create_connection((ip, port), timeout=timeout) as conn:
            conn.settimeout(3)
            conn.sendall(f"{line}\n".encode())
            return conn.makefile("r").readline().strip()
    except OSError:
        return ""


class ClusterAgent:
    PING_INTERVAL = 0.5
    LEAVE_AFTER = 6  # missed pings (3 s); a real member waits for the heartbeat timeout

    def __init__(
        self, cfg: ClusterConfig, log: CarbonLog, resolver: Resolver, join_seconds: float
    ) -> None:
        self.cfg = cfg
        self.log = log
        self.resolver = resolver
        self.join_seconds = join_seconds
        self.uuid = str(uuid.uuid4())
        self.me: Peer | None = None
        self.members: list[Peer] = []  # oldest first, this node included once joined
        self.coordinator = False
        self._joined = threading.Event()
        self._misses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock: socket.socket | None = None

    # -- init, as HazelcastClusteringAgent.init() logs it --------------------------------

    def init(self) -> None:
        """Join (blocking); a failure raises the BootError ``Cannot initialize cluster``."""
        cfg, log = self.cfg, self.log
        log.info(AGENT, f"Cluster domain: {cfg.domain}")
        log.info(AGENT, "Loading hazelcast configuration from axis2 clustering configuration")
        if cfg.local_host in ("127.0.0.1", "localhost"):
            log.warn(
                AGENT,
                "localMemberHost is configured to use the loopback address. Hazelcast "
                "Clustering needs ip addresses for localMemberHost and well-known members.",
            )
        log.info(AGENT, f"Using {cfg.scheme} based membership management scheme")
        if cfg.scheme == "wka":
            for host, port in dict.fromkeys(cfg.members):
                log.info(MEMBER_UTILS, f"Added member: {member_text(host, port)}")
        log.info(AGENT, "Hazelcast cluster is initializing...")
        started = time.monotonic()
        self.me = self._bind()
        threading.Thread(target=self._accept_loop, daemon=True).start()
        found = self._join() if cfg.scheme == "wka" else None
        with self._lock:
            self.members = [*found, self.me] if found else [self.me]
            self._joined.set()
        log.info(AGENT, f"Hazelcast initialized in {int((time.monotonic() - started) * 1000)}ms")
        me = self.me
        carbon = member_text(me.ip, me.port, cfg.http_port, cfg.https_port, cfg.domain,
                             cfg.sub_domain)  # fmt: skip
        log.info(AGENT, f"Local member: [{self.uuid}] - {carbon}")
        self._elect_if_oldest()
        threading.Thread(target=self._ping_loop, daemon=True).start()
        log.info(AGENT, "Cluster initialization completed")

    def _cannot(self, cause: str) -> BootError:
        return BootError(FINALIZER, "Cannot initialize cluster", (cause,))

    def _bind(self) -> Peer:
        cfg = self.cfg
        try:
            ip = self.resolver.resolve(cfg.local_host)
        except UnknownHost as exc:
            raise self._cannot(f"com.hazelcast.core.HazelcastException: {exc.java}") from exc
        for port in range(cfg.local_port, cfg.local_port + PORT_COUNT):
            try:
                self.sock = socket.create_server((ip, port))
            except OSError:
                continue
            return Peer(self.uuid, cfg.local_host, ip, port, cfg.http_port, cfg.https_port,
                        _j(cfg.sub_domain))  # fmt: skip
        raise self._cannot(
            "com.hazelcast.core.HazelcastException: ServerSocket bind has failed. Hazelcast "
            f"cannot start! config-port: {cfg.local_port}, latest-port: "
            f"{cfg.local_port + PORT_COUNT - 1}"
        )

    def _wka(self) -> list[tuple[str, int]]:
        """The WKA members' addresses, resolved through the hosts file (names it lacks are
        skipped: Hazelcast's own warnings are hidden), this node left out."""
        me = self.me
        out: list[tuple[str, int]] = []
        for host, port in dict.fromkeys(self.cfg.members):
            try:
                ip = self.resolver.resolve(host)
            except UnknownHost:
                continue
            if me is None or (ip, port) != (me.ip, me.port):
                out.append((ip, port))
        return out

    def _join(self) -> list[Peer] | None:
        """The members of the cluster this node joined, or None when it found nobody."""
        me = self.me
        assert me is not None
        deadline = time.monotonic() + self.join_seconds
        hello = f"JOIN {self.cfg.domain} {me.wire()}"
        while not self._stop.is_set():
            waiting: list[tuple[int, int]] = []
            for ip, port in self._wka():
                words = _ask(ip, port, hello).split()
                if words[:1] == ["WELCOME"]:
                    return [Peer.parse(w) for w in words[1:]]
                if words[:1] == ["WAIT"]:
                    waiting.append((int(ipaddress.ip_address(ip)), port))
            # every member that answers is joining too: the lowest address goes first
            if waiting and all(me.key() < w for w in waiting):
                return None
            if time.monotonic() >= deadline:
                return None
            self._stop.wait(0.2)
        return None

    def _elect_if_oldest(self) -> None:
        with self._lock:
            oldest = self.members[0].uuid == self.uuid if self.members else False
            if not oldest or self.coordinator:
                return
            self.coordinator = True
        self.log.info(AGENT, f"Elected this member [{self.uuid}] as the Coordinator node")

    # -- the membership listener of a running member -------------------------------------

    def _added(self, peer: Peer, tell: bool) -> None:
        """A newcomer: log it (WKAMembershipListener.memberAdded) and tell the others."""
        with self._lock:
            if any(m.uuid == peer.uuid for m in self.members):
                return
            stale = [m for m in self.members if (m.ip, m.port) == (peer.ip, peer.port)]
        for old in stale:  # the same address back with a new uuid: the old one left
            self._removed(old.uuid)
        with self._lock:
            others = [m for m in self.members if m.uuid != self.uuid]
            self.members.append(peer)
            self._misses[peer.uuid] = 0
        self.log.info(WKA, f"Member joined [{peer.uuid}]: {peer.address}")
        if tell:
            for m in others:
                _ask(m.ip, m.port, f"ADDED {peer.wire()}")

    def _removed(self, member_uuid: str) -> None:
        with self._lock:
            gone = next((m for m in self.members if m.uuid == member_uuid), None)
            if gone is None or gone.uuid == self.uuid:
                return
            self.members.remove(gone)
            self._misses.pop(member_uuid, None)
        self.log.info(WKA, f"Member left [{gone.uuid}]: {gone.address}")
        if any(host == gone.ip and port == gone.port for host, port in self.cfg.members):
            carbon = member_text(gone.ip, gone.port, gone.http, gone.https, self.cfg.domain,
                                 None if gone.sub == "null" else gone.sub)  # fmt: skip
            self.log.info(WKA, f"WKA member {carbon} left cluster.")
        self._elect_if_oldest()  # CoordinatorElectionMembershipListener.memberRemoved

    def _answer(self, words: list[str]) -> str:
        kind = words[0] if words else ""
        if kind == "JOIN" and len(words) == 3:
            if words[1] != self.cfg.domain:
                return "REJECT"
            if not self._joined.is_set():
                return "WAIT"
            peer = Peer.parse(words[2])
            self._added(peer, tell=True)
            with self._lock:
                found = [m.wire() for m in self.members if m.uuid != peer.uuid]
            return "WELCOME " + " ".join(found)
        if kind == "ADDED" and len(words) == 2 and self._joined.is_set():
            self._added(Peer.parse(words[1]), tell=False)
            return "OK"
        if kind == "LEFT" and len(words) == 2:
            self._removed(words[1])
            return "OK"
        if kind == "PING":
            return f"PONG {self.uuid}"
        return "REJECT"

    def _accept_loop(self) -> None:
        assert self.sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            try:
                words = conn.makefile("r").readline().split()
                conn.sendall(f"{self._answer(words)}\n".encode())
            except OSError:
                return

    def _ping_loop(self) -> None:
        while not self._stop.wait(self.PING_INTERVAL):
            with self._lock:
                others = [m for m in self.members if m.uuid != self.uuid]
            for m in others:
                alive = _ask(m.ip, m.port, "PING") == f"PONG {m.uuid}"
                with self._lock:
                    misses = 0 if alive else self._misses.get(m.uuid, 0) + 1
                    self._misses[m.uuid] = misses
                if misses >= self.LEAVE_AFTER:
                    self._removed(m.uuid)

    def shutdown(self) -> None:
        """Leave the cluster: the others log ``Member left`` at once (a graceful stop)."""
        self._stop.set()
        with self._lock:
            others = [m for m in self.members if m.uuid != self.uuid]
        for m in others:
            _ask(m.ip, m.port, f"LEFT {self.uuid}", timeout=0.5)
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
