"""Who uses the fake Carbon's datasources, and what each consumer logs when they fail.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).
Carbon's datasources are lazy tomcat-jdbc pools: nothing connects when a datasource is
registered; the user core (user-mgt.xml), the registry (registry.xml), API-M
(api-manager.xml ``DataSourceName``) and Open Banking (open-banking.xml) use theirs at
activation, and each logs its own failure (carbon-kernel v4.4.35; carbon-apimgt 6.4.x
``APIManagerComponent``). Pure functions: files in, values out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

try:  # run as bin/fakecarbon.py: the checks module is a sibling file
    from fakecarbon_checks import (  # type: ignore[import-not-found]
        BootError,
        DataSource,
        _text,
        defined_in,
        registry_datasources,
        usermgt_datasource,
    )
except ImportError:  # imported as wizard.lab.fakecarbon_consumers (tests)
    from wizard.lab.fakecarbon_checks import (
        BootError,
        DataSource,
        _text,
        defined_in,
        registry_datasources,
        usermgt_datasource,
    )

# Marker tables a datasource must hold (its dbscript ran), by consumer.
AM_MARKERS = ("AM_API", "IDN_BASE_TABLE")
SHARED_MARKERS = ("REG_RESOURCE", "UM_USER")
OB_MARKERS = ("OB_CONSENT", "OB_CONSENT_AUTH_RESOURCE")  # made by the OB pack's dbscript
_SHARED_DS_NAMES = {"WSO2UM_DB", "WSO2REG_DB", "WSO2CONFIG_DB"}

_JAR_RE = re.compile(r"^mysql-connector-(java|j)-[0-9][\w.\-]*\.jar$")


USER_CORE = "org.wso2.carbon.user.core.internal.Activator"
USER_CORE_FAILED = "Cannot start User Manager Core bundle"
REGISTRY_CORE = "org.wso2.carbon.registry.core.internal.RegistryCoreServiceComponent"
REGISTRY_FAILED = "Failed to activate Registry Core bundle "  # sic, trailing space
OB_PARSER = "com.wso2.finance.open.banking.common.config.OpenBankingConfigParser"


def not_bound(jndi: str) -> str:
    """Tomcat 7 NamingContext's NameNotFoundException text (the last name component)."""
    leaf = jndi.rstrip("/").rsplit("/", 1)[-1]
    return f"javax.naming.NameNotFoundException: Name {leaf} is not bound in this Context"


def reference_errors(
    sources: list[DataSource], usermgt: ET.Element, registry: ET.Element, ob_jndi: str = ""
) -> list[BootError]:
    """What each consumer logs when a JNDI name it uses is not bound by any datasource of
    the datasources files, or the registry's own references do not match.

    User core: ``DatabaseUtil.lookupDataSource`` throws ``RuntimeException("Error in
    looking up data source: " + ...)`` and ``Activator`` logs ``Cannot start User Manager
    Core bundle``; registry: ``RegistryCoreServiceComponent`` logs ``Failed to activate
    Registry Core bundle `` (carbon-kernel v4.4.35). The lines after them (the cause) are
    the fake's own words where the real text was not verified.
    """
    errors: list[BootError] = []
    jndis = {ds.jndi for ds in sources}
    where = defined_in(sources)
    if ob_jndi and ob_jndi not in jndis:
        errors.append(
            BootError(
                OB_PARSER,
                "Error while initializing the Open Banking datasource",
                (f"{not_bound(ob_jndi)} ('{ob_jndi}' named in open-banking.xml is not "
                 f"defined in {where})",),
            )
        )  # fmt: skip
    um = usermgt_datasource(usermgt)
    if um and um not in jndis:
        errors.append(
            BootError(
                USER_CORE,
                USER_CORE_FAILED,
                (f"java.lang.RuntimeException: Error in looking up data source: {not_bound(um)}"
                 f" (datasource '{um}' named in user-mgt.xml is not defined in {where})",),
            )
        )  # fmt: skip
    reg = registry_reference_error(jndis, registry, where)
    if reg is not None:
        errors.append(reg)
    return errors


def _registry_failed(cause: str) -> BootError:
    return BootError(
        REGISTRY_CORE,
        REGISTRY_FAILED,
        (f"org.wso2.carbon.registry.core.exceptions.RegistryException: {cause}",),
    )


def registry_reference_error(jndis: set[str], registry: ET.Element, where: str) -> BootError | None:
    """The first registry.xml reference that does not resolve (dbConfig datasource,
    currentDBConfig, remoteInstance dbConfig, mount instanceId), as the registry fails."""
    db_configs = {e.get("name", ""): e for e in registry.findall("./dbConfig")}
    for name, cfg in db_configs.items():
        jndi = _text(cfg.find("dataSource"))
        if jndi not in jndis:
            return _registry_failed(
                f"Error in looking up data source: {not_bound(jndi)} (dbConfig '{name}' uses "
                f"datasource '{jndi}' which is not defined in {where})"
            )
    current = _text(registry.find("./currentDBConfig"))
    if current and current not in db_configs:
        return _registry_failed(f"currentDBConfig '{current}' has no dbConfig")
    instances: dict[str, str] = {}
    for inst in registry.findall("./remoteInstance"):
        iid = _text(inst.find("id"))
        dbc = _text(inst.find("dbConfig"))
        if dbc and dbc not in db_configs:
            return _registry_failed(
                f"remoteInstance '{iid}' uses dbConfig '{dbc}' which is not defined"
            )
        instances[iid] = dbc
    for mount in registry.findall("./mount"):
        iid = _text(mount.find("instanceId"))
        if iid not in instances:
            return _registry_failed(
                f"mount '{mount.get('path', '')}' uses instanceId '{iid}' but no "
                "remoteInstance has that id"
            )
    return None


def check_references(
    sources: list[DataSource], usermgt: ET.Element, registry: ET.Element, ob_jndi: str = ""
) -> None:
    """Raise the first of :func:`reference_errors`."""
    errors = reference_errors(sources, usermgt, registry, ob_jndi)
    if errors:
        raise errors[0]


APIM = "org.wso2.carbon.apimgt.impl.internal.APIManagerComponent"
APIM_FAILED = "Error while initializing the API manager component"
OB_FAILED = "Error while initializing the Open Banking datasource"

# The OSGi service each consumer registers once it works: what
# StartupFinalizerServiceComponent waits for ("Waiting for required OSGi services: ").
SERVICES = {
    USER_CORE: "org.wso2.carbon.user.core.service.RealmService",
    REGISTRY_CORE: "org.wso2.carbon.registry.core.service.RegistryService",
    APIM: "org.wso2.carbon.apimgt.impl.APIManagerConfigurationService",
    OB_PARSER: "com.wso2.finance.open.banking.common.config.OpenBankingConfigurationService",
}


def apim_datasource(apimanager: ET.Element | None) -> str:
    """The JNDI name api-manager.xml ``DataSourceName`` gives (the API-M database)."""
    return _text(apimanager.find("./DataSourceName")) if apimanager is not None else ""


def consumers(
    ds: DataSource,
    registry: ET.Element | None = None,
    usermgt: ET.Element | None = None,
    ob_jndi: str = "",
    am_jndi: str = "",
) -> list[tuple[str, str]]:
    """(logger, message) of each component that uses the datasource and fails with it."""
    found: list[tuple[str, str]] = []
    if usermgt is not None and ds.jndi and ds.jndi == usermgt_datasource(usermgt):
        found.append((USER_CORE, USER_CORE_FAILED))
    if registry is not None and ds.jndi in registry_datasources(registry):
        found.append((REGISTRY_CORE, REGISTRY_FAILED))
    if ds.jndi and ds.jndi == am_jndi or (not am_jndi and ds.name == "WSO2AM_DB"):
        found.append((APIM, APIM_FAILED))
    if ob_jndi and ds.jndi == ob_jndi:
        found.append((OB_PARSER, OB_FAILED))
    return found


def marker_tables(
    ds: DataSource,
    registry: ET.Element | None = None,
    usermgt: ET.Element | None = None,
    ob_jndi: str = "",
    am_jndi: str = "",
) -> tuple[str, ...]:
    """Tables whose presence shows the right dbscript was run into the datasource's DB."""
    if ds.name == "WSO2AM_DB" or (am_jndi and ds.jndi == am_jndi):
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


POOL = "org.apache.tomcat.jdbc.pool.ConnectionPool"
POOL_FAILED = "Unable to create initial connections of pool."


def driver_class(ds: DataSource) -> str:
    """The MySQL driver class the datasource names (Connector/J 5.1's when it names none)."""
    return ds.driver if "mysql" in ds.driver.lower() else "com.mysql.jdbc.Driver"


def missing_driver(ds: DataSource, lib_dir: Path) -> BootError | None:
    """A MySQL datasource without a Connector/J jar in components/lib: tomcat-jdbc's
    ``PooledConnection.connectUsingDriver`` wraps the ClassNotFoundException as
    ``new SQLException(cn.getMessage())`` and ``ConnectionPool.init`` logs it."""
    if not ds.url.startswith("jdbc:mysql:") or driver_jar(lib_dir) is not None:
        return None
    cls = driver_class(ds)
    return BootError(
        POOL,
        POOL_FAILED,
        (f"java.sql.SQLException: {cls}",
         f"Caused by: java.lang.ClassNotFoundException: {cls} (no mysql-connector jar in "
         f"{lib_dir})"),
    )  # fmt: skip


def check_driver(sources: list[DataSource], lib_dir: Path) -> None:
    """Raise :func:`missing_driver` of the first MySQL datasource that has none."""
    for ds in sources:
        error = missing_driver(ds, lib_dir)
        if error is not None:
            raise error
