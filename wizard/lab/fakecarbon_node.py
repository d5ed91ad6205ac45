"""What a fake Carbon node opens, read from its configuration: ports per profile,
axis2 cluster membership, the key store of carbon.xml.

Standard library only, copied next to ``fakecarbon.py`` into the product's ``bin/`` like
``fakecarbon_checks.py``; pure functions (files in, values out).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

try:  # run as bin/fakecarbon.py: the checks module is a sibling file
    from fakecarbon_checks import (  # type: ignore[import-not-found]
        BootError,
        C,
        _text,
        resolve_placeholders,
    )
except ImportError:  # imported as wizard.lab.fakecarbon_node (tests)
    from wizard.lab.fakecarbon_checks import BootError, C, _text, resolve_placeholders

_NO_GATEWAY = {"api-key-manager", "api-publisher", "api-store", "traffic-manager"}


@dataclass(frozen=True)
class Listener:
    """One port the server opens: kind is "https", "http" or "tcp"."""

    name: str
    port: int
    kind: str


@dataclass(frozen=True)
class ClusterConfig:
    enabled: bool
    scheme: str
    domain: str
    local_host: str
    local_port: int
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class KeyStoreConfig:
    location: Path
    store_type: str
    password: str = field(repr=False)
    key_alias: str
    key_password: str = field(repr=False)


def servlet_ports(catalina: ET.Element) -> tuple[int, int]:
    """(https, http) base ports from catalina-server.xml, before the offset."""
    https, http = 9443, 9763
    for conn in catalina.findall("./Service/Connector"):
        port = conn.get("port", "")
        if not port.isdigit():
            continue
        if conn.get("SSLEnabled", "").lower() == "true" or conn.get("scheme") == "https":
            https = int(port)
        else:
            http = int(port)
    return https, http


def listeners(profile: str, offset: int, servlet: tuple[int, int] = (9443, 9763)) -> list[Listener]:
    """The ports a node of this profile opens, offset applied."""
    https, http = servlet
    out = [
        Listener("servlet-https", https + offset, "https"),
        Listener("servlet-http", http + offset, "http"),
    ]
    if profile not in _NO_GATEWAY:
        out.append(Listener("nio-https", 8243 + offset, "https"))
        out.append(Listener("nio-http", 8280 + offset, "http"))
    if profile in ("default", "traffic-manager"):
        out.append(Listener("amqp", 5672 + offset, "tcp"))
        # the traffic manager's binary event receivers (data-bridge-config.xml)
        out.append(Listener("tm-binary", 9611 + offset, "tcp"))
        out.append(Listener("tm-binary-ssl", 9711 + offset, "tcp"))
    if profile in ("default", "api-key-manager"):
        out.append(Listener("thrift", 10397 + offset, "tcp"))
    return out


def cluster_config(axis2: ET.Element) -> ClusterConfig:
    cl = axis2.find("./clustering")
    if cl is None:
        return ClusterConfig(False, "", "", "127.0.0.1", 4000, ())

    def param(name: str, default: str) -> str:
        return _text(cl.find(f"./parameter[@name='{name}']")) or default

    members: list[tuple[str, int]] = []
    for m in cl.findall("./members/member"):
        host = _text(m.find("hostName"))
        port = _text(m.find("port"))
        if not host:
            continue
        # WKA members may give a port range such as 4000-4002: take every port of it.
        if "-" in port:
            lo, hi = (int(x) for x in port.split("-", 1))
            members.extend((host, p) for p in range(lo, hi + 1))
        else:
            members.append((host, int(port or "4000")))
    port_text = param("localMemberPort", "4000")
    return ClusterConfig(
        enabled=cl.get("enable", "false").strip().lower() == "true",
        scheme=param("membershipScheme", "multicast"),
        domain=param("domain", "wso2.carbon.domain"),
        local_host=param("localMemberHost", "127.0.0.1"),
        local_port=int(port_text) if port_text.isdigit() else 4000,
        members=tuple(members),
    )


def keystore_config(carbon: ET.Element, home: Path) -> KeyStoreConfig:
    ks = carbon.find("./c:Security/c:KeyStore", C)
    if ks is None:
        raise BootError(
            "org.wso2.carbon.core.util.KeyStoreManager",
            "No Security/KeyStore element in carbon.xml",
        )
    location = resolve_placeholders(_text(ks.find("c:Location", C)), home)
    path = Path(location)
    if not path.is_absolute():
        path = home / path
    password = (ks.findtext("c:Password", "", C) or "").strip()
    return KeyStoreConfig(
        location=path,
        store_type=_text(ks.find("c:Type", C)) or "JKS",
        password=password,
        key_alias=_text(ks.find("c:KeyAlias", C)),
        key_password=(ks.findtext("c:KeyPassword", password, C) or "").strip(),
    )
