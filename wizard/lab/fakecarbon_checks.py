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

# Profiles of API-M 2.6.0 (-Dprofile=...). "default" is the all-in-one server.
PROFILES = (
    "default",
    "api-key-manager",
    "api-publisher",
    "api-store",
    "traffic-manager",
    "gateway-worker",
    "gateway-manager",
)


# Marker tables a datasource must hold, by datasource name.
AM_MARKERS = ("AM_API", "IDN_BASE_TABLE")
SHARED_MARKERS = ("REG_RESOURCE", "UM_USER")
OB_MARKERS = ("OB_CONSENT", "OB_CONSENT_AUTH_RESOURCE")  # made by the OB pack's dbscript
_SHARED_DS_NAMES = {"WSO2UM_DB", "WSO2REG_DB", "WSO2CONFIG_DB"}

_JAR_RE = re.compile(r"^mysql-connector-(java|j)-[0-9][\w.\-]*\.jar$")
_MYSQL_URL_RE = re.compile(r"^jdbc:mysql://(?P<host>[^:/?]+)(?::(?P<port>\d+))?/(?P<db>[^?;]*)")


class BootError(Exception):
    """A failure Carbon would log as ERROR before giving up the boot."""

    def __init__(self, logger: str, message: str) -> None:
        super().__init__(message)
        self.logger = logger
        self.message = message


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


def check_references(
    sources: list[DataSource], usermgt: ET.Element, registry: ET.Element, ob_jndi: str = ""
) -> None:
    """JNDI names used by user-mgt.xml, registry.xml (and open-banking.xml) must be bound
    by a datasource of any datasources file; registry mounts must match."""
    jndis = {ds.jndi for ds in sources}
    where = defined_in(sources)
    if ob_jndi and ob_jndi not in jndis:
        raise BootError(
            "com.wso2.finance.open.banking.common.config.OpenBankingConfigParser",
            f"Error while initializing the Open Banking datasource: '{ob_jndi}' named in "
            f"open-banking.xml is not defined in {where}",
        )
    um = usermgt_datasource(usermgt)
    if um and um not in jndis:
        raise BootError(
            "org.wso2.carbon.user.core.common.DefaultRealmService",
            f"Cannot initialize the realm: datasource '{um}' named in user-mgt.xml "
            f"is not defined in {where}",
        )
    db_configs = {e.get("name", ""): e for e in registry.findall("./dbConfig")}
    for name, cfg in db_configs.items():
        jndi = _text(cfg.find("dataSource"))
        if jndi not in jndis:
            raise BootError(
                "org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent",
                f"Error in initializing the registry: dbConfig '{name}' uses datasource "
                f"'{jndi}' which is not defined in {where}",
            )
    current = _text(registry.find("./currentDBConfig"))
    if current and current not in db_configs:
        raise BootError(
            "org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent",
            f"Error in initializing the registry: currentDBConfig '{current}' has no dbConfig",
        )
    instances: dict[str, str] = {}
    for inst in registry.findall("./remoteInstance"):
        iid = _text(inst.find("id"))
        dbc = _text(inst.find("dbConfig"))
        if dbc and dbc not in db_configs:
            raise BootError(
                "org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent",
                f"Error in initializing the registry: remoteInstance '{iid}' uses dbConfig "
                f"'{dbc}' which is not defined",
            )
        instances[iid] = dbc
    for mount in registry.findall("./mount"):
        iid = _text(mount.find("instanceId"))
        if iid not in instances:
            raise BootError(
                "org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent",
                f"Error in initializing the registry: mount '{mount.get('path', '')}' uses "
                f"instanceId '{iid}' but no remoteInstance has that id",
            )


def marker_tables(
    ds: DataSource,
    registry: ET.Element | None = None,
    usermgt: ET.Element | None = None,
    ob_jndi: str = "",
) -> tuple[str, ...]:
    """Tables whose presence shows the right dbscript was run into the datasource's DB."""
    if ds.name == "WSO2AM_DB":
        return AM_MARKERS
    if ob_jndi and ds.jndi == ob_jndi:
        return OB_MARKERS
    shared = set(_SHARED_DS_NAMES)
    jndis: set[str] = set()
    if registry is not None:
        jndis.update(registry_datasources(registry))
    if usermgt is not None:
        jndis.add(usermgt_datasource(usermgt))
    if ds.name in shared or ds.jndi in jndis:
        return SHARED_MARKERS
    return ()


def mysql_in_use(sources: list[DataSource]) -> bool:
    return any(ds.url.startswith("jdbc:mysql:") for ds in sources)


def driver_jar(lib_dir: Path) -> Path | None:
    if not lib_dir.is_dir():
        return None
    for p in sorted(lib_dir.iterdir()):
        if _JAR_RE.match(p.name) and p.is_file():
            return p
    return None


def check_driver(sources: list[DataSource], lib_dir: Path) -> None:
    if not mysql_in_use(sources):
        return
    if driver_jar(lib_dir) is None:
        cls = next(
            (
                ds.driver
                for ds in sources
                if ds.url.startswith("jdbc:mysql:") and "mysql" in ds.driver.lower()
            ),
            "com.mysql.jdbc.Driver",
        )
        raise BootError(
            "org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader",
            f"Cannot load JDBC driver class '{cls}' (no mysql-connector jar in {lib_dir})",
        )
