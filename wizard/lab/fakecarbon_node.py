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
    # what the member advertises (MemberUtils.getLocalMember): the axis2 http/https
    # receiver ports, plus the offset only when AvoidInitiation is present and not true
    http_port: int = -1
    https_port: int = -1
    sub_domain: str | None = None


@dataclass(frozen=True)
class KeyStoreConfig:
    location: Path
    store_type: str
    password: str = field(repr=False)
    key_alias: str
    key_password: str = field(repr=False)
    written: str = ""  # the location as the file gives it (for messages)


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


def _receiver_port(axis2: ET.Element, name: str) -> int:
    raw = _text(axis2.find(f"./transportReceiver[@name='{name}']/parameter[@name='port']"))
    return int(raw) if raw.isdigit() else -1


def cluster_config(axis2: ET.Element, offset: int = 0) -> ClusterConfig:
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
    avoid = cl.find("./parameter[@name='AvoidInitiation']")
    shift = offset if avoid is not None and _text(avoid).lower() != "true" else 0
    http, https = _receiver_port(axis2, "http"), _receiver_port(axis2, "https")
    sub = cl.find("./parameter[@name='properties']/property[@name='subDomain']")
    return ClusterConfig(
        enabled=cl.get("enable", "false").strip().lower() == "true",
        scheme=param("membershipScheme", "multicast"),
        domain=param("domain", "wso2.carbon.domain"),
        local_host=param("localMemberHost", "127.0.0.1"),
        local_port=int(port_text) if port_text.isdigit() else 4000,
        members=tuple(members),
        http_port=http + shift if http >= 0 else -1,
        https_port=https + shift if https >= 0 else -1,
        sub_domain=sub.get("value") if sub is not None else None,
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


def _absolute(text: str, home: Path) -> Path:
    path = Path(text)
    return path if path.is_absolute() else home / path


def _alias_if_same(path: Path, primary: KeyStoreConfig) -> str:
    """The primary key alias when this store is the primary's file (the stock case)."""
    try:
        same = path.resolve() == primary.location.resolve()
    except OSError:
        same = False
    return primary.key_alias if same else ""


def servlet_keystore(catalina: ET.Element, home: Path, primary: KeyStoreConfig) -> KeyStoreConfig:
    """The key store of the HTTPS servlet connector (catalina-server.xml ``keystoreFile`` /
    ``keystorePass``, product-apim v2.6.0 conf/tomcat/catalina-server.xml L76-77); the
    primary key store when the connector names none."""
    for conn in catalina.findall("./Service/Connector"):
        if conn.get("SSLEnabled", "").lower() != "true" and conn.get("scheme") != "https":
            continue
        written = conn.get("keystoreFile")
        if not written:
            return primary
        path = _absolute(resolve_placeholders(written, home), home)
        password = conn.get("keystorePass", "changeit")
        return KeyStoreConfig(
            location=path,
            store_type=conn.get("keystoreType", "JKS"),
            password=password,
            key_alias=conn.get("keyAlias") or _alias_if_same(path, primary),
            key_password=conn.get("keyPass", password),
            written=written,
        )
    return primary


def nio_keystore(axis2: ET.Element, home: Path, primary: KeyStoreConfig) -> KeyStoreConfig | None:
    """The key store of the NIO HTTPS receiver (axis2.xml ``transportReceiver name="https"``
    ``keystore`` parameter), which Synapse's ServerConnFactoryBuilder opens."""
    ks = axis2.find("./transportReceiver[@name='https']/parameter[@name='keystore']/KeyStore")
    if ks is None:
        return None
    written = _text(ks.find("Location"))
    path = _absolute(resolve_placeholders(written, home), home)
    password = (ks.findtext("Password") or "").strip()
    return KeyStoreConfig(
        location=path,
        store_type=_text(ks.find("Type")) or "JKS",
        password=password,
        key_alias=_alias_if_same(path, primary),
        key_password=(ks.findtext("KeyPassword") or password).strip(),
        written=written,
    )
