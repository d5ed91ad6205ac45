"""The fake Carbon's system datasources: every datasources file, read like Carbon 4.4 does.

Standard library only (copied into the product's ``bin/`` next to ``fakecarbon.py``).

What the real component does (wso2/carbon-kernel, tag v4.4.35, module
``core/org.wso2.carbon.ndatasource.core``):

- ``DataSourceManager.initSystemDataSources``: ``master-datasources.xml`` of
  ``repository/conf/datasources`` first, then every other file of that folder whose name
  ends with ``-datasources.xml`` (``DataSourceConstants.SYS_DS_FILE_NAME_SUFFIX``), in
  ``File.listFiles()`` order (unspecified; sorted here). Other files are not read.
- A datasource name registered twice: ``DataSourceRepository.registerDataSource`` throws
  ``"System datasource " + name + "can not be updated."`` (sic), wrapped by
  ``initSystemDataSource`` (``"Error in initializing system data sources at '<file>' - "``)
  and ``initSystemDataSources`` (``"Error in initializing system data sources: "``), and
  logged by ``DataSourceServiceComponent`` as ``"Error in intializing system data
  sources: "`` (sic); the files after it are not read.
- A JNDI name bound twice: ``DataSourceRepository.registerJNDI`` calls ``Context.rebind``,
  so the datasource read last silently takes the name. The fake is stricter and refuses
  the boot, in the words ``registerJNDI`` logs when a bind fails (``"Error in binding to
  JNDI with name '<jndi>' - " + NamingException``) with the NamingException Tomcat 7's
  ``NamingContext.bind`` throws for a taken name (``"Name {0} is already bound in this
  Context"``, the last name component), then says which datasources collide.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

try:  # run as bin/fakecarbon.py: the checks module is a sibling file
    from fakecarbon_checks import (  # type: ignore[import-not-found]
        BootError,
        DataSource,
        datasources,
        parse_xml,
    )
except ImportError:  # imported as wizard.lab.fakecarbon_ds (tests)
    from wizard.lab.fakecarbon_checks import BootError, DataSource, datasources, parse_xml

DS_DIR = "repository/conf/datasources"
MASTER_DS_FILE = "master-datasources.xml"
SYS_DS_SUFFIX = "-datasources.xml"

_COMPONENT = "org.wso2.carbon.ndatasource.core.internal.DataSourceServiceComponent"
_REPOSITORY = "org.wso2.carbon.ndatasource.core.DataSourceRepository"


def datasource_files(home: Path) -> list[Path]:
    """The files Carbon reads, in order: master-datasources.xml, then the other
    ``*-datasources.xml`` files of the folder (sorted)."""
    folder = home / DS_DIR
    master = folder / MASTER_DS_FILE
    files = [master] if master.exists() else []
    if folder.is_dir():
        files += sorted(
            p
            for p in folder.iterdir()
            if p.name.endswith(SYS_DS_SUFFIX) and p.name != MASTER_DS_FILE
        )
    return files


def duplicate_name(path: Path, name: str) -> BootError:
    return BootError(
        _COMPONENT,
        "Error in intializing system data sources: Error in initializing system data "
        f"sources: Error in initializing system data sources at '{path}' - "
        f"System datasource {name}can not be updated.",
    )


def duplicate_jndi(first: DataSource, second: DataSource) -> BootError:
    leaf = second.jndi.rstrip("/").rsplit("/", 1)[-1]
    return BootError(
        _REPOSITORY,
        f"Error in binding to JNDI with name '{second.jndi}' - Name {leaf} is already bound "
        f"in this Context (datasource {first.name} in {first.file} and datasource "
        f"{second.name} in {second.file} bind the same JNDI name)",
    )


def load_datasources(
    home: Path, resolve: Callable[[ET.Element], None] | None = None
) -> list[DataSource]:
    """Every live RDBMS datasource of every datasources file, in the order Carbon binds
    them; a malformed file, a datasource name or a JNDI name used twice stop the boot.
    ``resolve`` replaces Secure Vault aliases in each file (fakecarbon_vault.py)."""
    found: list[DataSource] = []
    names: dict[str, DataSource] = {}
    jndis: dict[str, DataSource] = {}
    for path in datasource_files(home):
        root = parse_xml(path)
        if resolve is not None:
            resolve(root)
        for ds in datasources(root, path.name):
            if ds.name in names:
                raise duplicate_name(path, ds.name)
            names[ds.name] = ds
            if ds.jndi:
                if ds.jndi in jndis:
                    raise duplicate_jndi(jndis[ds.jndi], ds)
                jndis[ds.jndi] = ds
            found.append(ds)
    return found
