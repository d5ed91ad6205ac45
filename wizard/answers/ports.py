"""Carbon port numbers: each listening port is base + the node's port offset."""

from __future__ import annotations

# name -> base port of API Manager 2.6.0 (Carbon 4.4), before the offset.
BASE_PORTS: dict[str, int] = {
    "https": 9443,  # servlet HTTPS (catalina-server.xml)
    "http": 9763,  # servlet HTTP
    "nhttps": 8243,  # gateway NIO HTTPS (axis2.xml)
    "nhttp": 8280,  # gateway NIO HTTP
    "amqp": 5672,  # broker (broker.xml)
    "amqp_ssl": 8672,
    "thrift": 10397,  # key validation thrift server
    "tm_binary": 9611,  # traffic manager binary receiver (data-bridge)
    "tm_ssl": 9711,
    "ws": 9099,  # websocket gateway
    "wss": 8099,
}

MAX_OFFSET = 65535 - max(BASE_PORTS.values())
HAZELCAST_DEFAULT_PORT = 4000  # localMemberPort; not shifted by the offset


def ports_for(offset: int) -> dict[str, int]:
    return {name: base + offset for name, base in BASE_PORTS.items()}


def port_set(offset: int) -> set[int]:
    return set(ports_for(offset).values())
