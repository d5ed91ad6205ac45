"""What the fake Carbon server reads from its configuration, and the checks it makes.

Standard library only: this module is copied next to ``fakecarbon.py`` into the
product's ``bin/`` and run by the host's ``/usr/bin/python3`` as an unprivileged user.
Every function here is pure (files in, values out) so the unit tests can call it.
What a node opens (ports, cluster membership, key store) is in ``fakecarbon_node.py``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

CARBON_NS = "http://wso2.org/projects/carbon/carbon.xml"
C = {"c": CARBON_NS}

# Paths (relative to the product home) of the files parsed at boot, by short name.
CONF_FILES: dict[str, str] = {
    "carbon": "repository/conf/carbon.xml",
    "datasources": "repository/conf/datasources/master-datasources.xml",
    "usermgt": "repository/conf/user-mgt.xml",
    "registry": "repository/conf/registry.xml",
    "apimanager": "repository/conf/api-manager.xml",
    "axis2": "repository/conf/axis2/axis2.xml",
    "catalina": "repository/conf/tomcat/catalina-server.xml",
    "identity": "repository/conf/identity/identity.xml",
}

# Open Banking packs only: its DataSource/Name is the JNDI name of the OB database.
OB_CONF_FILE = "repository/conf/finance/open-banking.xml"

# Profiles of API-M 2.6.0 (-Dprofile=...): product-apim v2.6.0
# modules/p2-profile/product/pom.xml. "default" is the all-in-one server; 2.6.0 has no
# gateway-manager profile (later versions do).
PROFILES = (
    "default",
    "api-key-manager",
    "api-publisher",
    "api-store",
    "traffic-manager",
    "gateway-worker",
)


_MYSQL_URL_RE = re.compile(r"^jdbc:mysql://(?P<host>[^:/?]+)(?::(?P<port>\d+))?/(?P<db>[^?;]*)")


class BootError(Exception):
    """A failure Carbon logs as ERROR: ``message`` under ``logger``, then ``detail`` (the
    exception log4j prints on the lines after it, e.g. ``java.net.BindException: ...``)."""

    def __init__(self, logger: str, message: str, detail: tuple[str, ...] = ()) -> None:
        super().__init__("\n".join((message, *detail)))
        self.logger = logger
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class DataSource:
    name: str
    jndi: str
    url: str
    username: str
    password: str = field(repr=False)
    driver: str
    file: str = "master-datasources.xml"  # the file of repository/conf/datasources it is in


@dataclass(frozen=True)
class MysqlTarget:
    host: str
    port: int
    database: str
    params: dict[str, str]


@dataclass
class Options:
    """Command-line options of the server (the -D system properties Carbon takes)."""

    offset: int | None = None
    profile: str = "default"
    setup: bool = False
    extra: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> Options:
    opts = Options()
    for arg in argv:
        if arg.startswith("-DportOffset="):
            value = arg.split("=", 1)[1]
            if not value.isdigit():
                raise BootError(
                    "org.wso2.carbon.core.init.CarbonServerManager",
                    f"Invalid port offset '{value}': it must be a non-negative integer",
                )
            opts.offset = int(value)
        elif arg.startswith("-Dprofile="):
            opts.profile = arg.split("=", 1)[1] or "default"
        elif arg == "-Dsetup":
            opts.setup = True
        else:
            opts.extra.append(arg)
    if opts.profile not in PROFILES:
        raise BootError(
            "org.wso2.carbon.server.Main",
            f"Unknown profile '{opts.profile}'. Known profiles: {', '.join(PROFILES)}",
        )
    return opts


def parse_xml(path: Path) -> ET.Element:
    """Parse one configuration file; a malformed file is a BootError with line and column."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position  # expat's column is 0-based; editors count from 1
        column += 1
        message = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise BootError(
            "org.wso2.carbon.utils.CarbonUtils",
            f"Error while parsing {path} : {message} line {line} column {column}",
        ) from exc
    except OSError as exc:
        raise BootError(
            "org.wso2.carbon.utils.CarbonUtils",
            f"Error while reading {path} : {exc.strerror}",
        ) from exc


def load_configs(home: Path) -> dict[str, ET.Element]:
    """Parse every file of CONF_FILES, in order; the first bad one stops the boot.

    An Open Banking pack's open-banking.xml is parsed too (key ``ob``) when present.
    """
    conf = {key: parse_xml(home / rel) for key, rel in CONF_FILES.items()}
    if (home / OB_CONF_FILE).exists():
        conf["ob"] = parse_xml(home / OB_CONF_FILE)
    return conf


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ob_datasource(ob: ET.Element | None) -> str:
    """The JNDI name open-banking.xml gives in ``DataSource/Name`` (any namespace); "" if none.

    The product reads exactly one; several live ones are a boot error.
    """
    if ob is None:
        return ""
    names = [
        _text(name)
        for ds in ob.iter()
        if _local(ds.tag) == "DataSource"
        for name in ds
        if _local(name.tag) == "Name"
    ]
    if len(names) > 1:
        raise BootError(
            "com.wso2.finance.open.banking.common.config.OpenBankingConfigParser",
            f"open-banking.xml defines {len(names)} DataSource/Name elements; one is expected",
        )
    return names[0] if names else ""


def resolve_placeholders(text: str, home: Path) -> str:
    return text.replace("${carbon.home}", str(home))


def _text(elem: ET.Element | None) -> str:
    return (elem.text or "").strip() if elem is not None else ""


def resolve_offset(carbon: ET.Element, cli_offset: int | None) -> int:
    """-DportOffset wins; else carbon.xml Ports/Offset; else 0."""
    if cli_offset is not None:
        return cli_offset
    raw = _text(carbon.find("c:Ports/c:Offset", C))
    if not raw:
        return 0
    if not raw.isdigit():
        raise BootError(
            "org.wso2.carbon.core.init.CarbonServerManager",
            f"Invalid port offset '{raw}' in carbon.xml Ports/Offset",
        )
    return int(raw)


def datasources(root: ET.Element, file: str = "master-datasources.xml") -> list[DataSource]:
    """The live RDBMS datasources of one datasources file (comments are not datasources).

    Every file of the folder: see ``fakecarbon_ds.load_datasources``.
    """
    found: list[DataSource] = []
    for ds in root.findall("./datasources/datasource"):
        cfg = ds.find("./definition[@type='RDBMS']/configuration")
        if cfg is None:
            continue
        found.append(
            DataSource(
                name=_text(ds.find("name")),
                jndi=_text(ds.find("jndiConfig/name")),
                url=_text(cfg.find("url")),
                username=_text(cfg.find("username")),
                password=(cfg.findtext("password") or "").strip(),
                driver=_text(cfg.find("driverClassName")),
                file=file,
            )
        )
    return found


def parse_mysql_url(url: str) -> MysqlTarget | None:
    """``jdbc:mysql://host:port/db?a=b&c=d`` (already XML-unescaped) → target; else None."""
    m = _MYSQL_URL_RE.match(url.strip())
    if not m:
        return None
    query = url.split("?", 1)[1] if "?" in url else ""
    params = {k.strip(): v.strip() for k, v in parse_qsl(query, keep_blank_values=True)}
    return MysqlTarget(
        host=m.group("host"),
        port=int(m.group("port") or 3306),
        database=m.group("db"),
        params=params,
    )


def registry_datasources(registry: ET.Element) -> list[str]:
    return [_text(e) for e in registry.findall("./dbConfig/dataSource")]


def usermgt_datasource(usermgt: ET.Element) -> str:
    return _text(usermgt.find("./Realm/Configuration/Property[@name='dataSource']"))


def defined_in(sources: list[DataSource]) -> str:
    """The datasources files read, for messages: ``master-datasources.xml`` or
    ``any of master-datasources.xml, open-banking-datasources.xml``."""
    files = list(dict.fromkeys(ds.file for ds in sources)) or ["master-datasources.xml"]
    return files[0] if len(files) == 1 else "any of " + ", ".join(files)
