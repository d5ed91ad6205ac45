"""What a node's product home holds, read before planning (read-only).

The planner stays pure: :func:`gather` reads, for every node, ``carbon.xml`` (product
name and version), every file of ``repository/conf/datasources/`` and the files whose
datasource references the pattern follows; :class:`HomeFacts` keeps their bytes in
memory only (they may hold passwords: never saved, never logged). The parsing helpers
here are pure and used by the planner.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from lxml import etree

from wizard.connectors.base import FileStat, Transport, read_files
from wizard.connectors.mysql_checks import ServerInfo
from wizard.connectors.packzip import open_pack
from wizard.connectors.parallel import run_per_host
from wizard.edits.model import NSMAP
from wizard.errors import EXIT_BAD_INPUT, Where, WizardError
from wizard.planning.dslayout import DataSource

CARBON_XML = "repository/conf/carbon.xml"
DATASOURCES_DIR = "repository/conf/datasources"
# carbon-kernel 4.4.x DataSourceManager.initSystemDataSources: master-datasources.xml
# first, then every other file whose name ends in -datasources.xml (DataSourceConstants)
MASTER_DS_FILE = "master-datasources.xml"
DS_FILE_SUFFIX = "-datasources.xml"
_C = "{http://wso2.org/projects/carbon/carbon.xml}"


@dataclass(frozen=True)
class Product:
    name: str
    version: str
    line: int | None

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


@dataclass
class HomeFacts:
    """A home as read from its host: ``files`` maps paths relative to the home to bytes."""

    host: str
    home: str
    files: dict[str, bytes] = field(default_factory=dict)
    datasource_files: tuple[str, ...] = ()
    # the home is missing and these facts were read from the product zip that the
    # ``pack`` step will unpack there (product.pack); None: read from the host
    pack: str | None = None

    @property
    def present(self) -> bool:
        return CARBON_XML in self.files

    def where(self, rel: str, line: int | None = None) -> Where:
        return Where(self.host, posixpath.join(self.home, rel), line)

    def tree(self, rel: str) -> etree._Element | None:
        """The parsed file, or None when it is not there. A file that does not parse is
        an error naming host, file, line and column (Carbon would not start either)."""
        return self._trees.get(rel) if rel in self.files else None

    @cached_property
    def _trees(self) -> dict[str, etree._Element]:
        out = {}
        for rel, data in self.files.items():
            if rel.endswith(".xml"):
                out[rel] = _parse(data, self.where(rel))
        return out

    def product(self) -> Product | None:
        root = self.tree(CARBON_XML)
        if root is None:
            return None
        name = root.find(f"{_C}Name")
        version = root.find(f"{_C}Version")
        return Product(
            (name.text or "").strip() if name is not None else "",
            (version.text or "").strip() if version is not None else "",
            version.sourceline if version is not None else None,
        )

    def datasources(self) -> list[DataSource]:
        """Every live datasource of every file Carbon loads from the datasources folder."""
        out = []
        for rel in self.datasource_files:
            root = self.tree(rel)
            if root is None:
                continue
            for ds in root.iterfind("./datasources/datasource"):
                out.append(
                    DataSource(
                        file=rel,
                        name=(ds.findtext("name") or "").strip(),
                        jndi=(ds.findtext("jndiConfig/name") or "").strip(),
                        url=(ds.findtext("definition/configuration/url") or "").strip(),
                        line=ds.sourceline,
                    )
                )
        return out

    def value_at(self, rel: str, xpath: str) -> str | None:
        """The text of the first element ``xpath`` finds in ``rel``; None when none."""
        root = self.tree(rel)
        if root is None:
            return None
        try:
            found = root.getroottree().xpath(xpath, namespaces=NSMAP)
        except etree.XPathError:
            return None
        if not isinstance(found, list) or not found:
            return None
        first = found[0]
        text = first.text if isinstance(first, etree._Element) else str(first)
        return (text or "").strip() or None


@dataclass
class Facts:
    """What the planner may know of the real world: each node's home, the database
    server, and notes on what could not be read."""

    homes: dict[str, HomeFacts] = field(default_factory=dict)
    server: ServerInfo | None = None
    notes: list[str] = field(default_factory=list)
    # what could not be read: node -> why (its SSH login failed...); the DB server's error
    unreachable: dict[str, WizardError] = field(default_factory=dict)
    server_error: WizardError | None = None


def _parse(data: bytes, where: Where) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (None, None)
        raise WizardError(
            f"{posixpath.basename(where.file or '')} is not well-formed XML: {exc.msg}",
            Where(where.host, where.file, line, col),
            "fix the file on the host (Carbon would not start with it either), then run again",
            EXIT_BAD_INPUT,
        ) from None


class HomeReader(Protocol):
    """What :func:`read_home` reads with: a transport, or a product zip's view."""

    def listdir(self, path: str) -> list[str]: ...

    def stat(self, path: str) -> FileStat: ...

    def read(self, path: str, size: int | None = None) -> bytes: ...


def read_home(transport: HomeReader, host: str, home: str, extra: Iterable[str]) -> HomeFacts:
    """Read one home: carbon.xml, the datasource files Carbon loads and ``extra`` (relative paths);
    a file that is not there is simply absent from the facts."""
    facts = HomeFacts(host, home)
    listing: list[str] = []
    ds_dir = posixpath.join(home, DATASOURCES_DIR)
    try:
        listing = transport.listdir(ds_dir)
    except WizardError:
        listing = []
    names = [MASTER_DS_FILE] if MASTER_DS_FILE in listing else []
    names += [n for n in sorted(listing) if n.endswith(DS_FILE_SUFFIX) and n != MASTER_DS_FILE]
    ds_files = tuple(f"{DATASOURCES_DIR}/{n}" for n in names)
    facts.datasource_files = ds_files
    rels = list(dict.fromkeys([CARBON_XML, *ds_files, *extra]))
    found = read_files(transport, [posixpath.join(home, rel) for rel in rels])  # one batch
    for rel in rels:
        st, data = found[posixpath.join(home, rel)]
        if st.exists:
            facts.files[rel] = data if data is not None else b""
    return facts


def gather(
    homes: dict[str, tuple[str, list[str]]],
    transport: Callable[[str], Transport],
    *,
    parallelism: int = 8,
) -> tuple[dict[str, HomeFacts], dict[str, WizardError]]:
    """Read every node's home in parallel: ``homes`` maps node -> (home, extra files).
    Returns the homes read and, per node that could not be read, why (the preflight
    lists them all at once)."""

    def one(node: str) -> HomeFacts:
        home, extra = homes[node]
        return read_home(transport(node), node, home, extra)

    results = run_per_host(list(homes), one, parallelism=parallelism)
    out: dict[str, HomeFacts] = {}
    failed: dict[str, WizardError] = {}
    for node, res in results.items():
        if isinstance(res, WizardError):
            failed[node] = res
        elif isinstance(res, BaseException):
            raise res
        else:
            out[node] = res
    return out, failed


def pack_homes(
    pack: str | None, homes: dict[str, tuple[str, list[str]]], found: dict[str, HomeFacts]
) -> dict[str, HomeFacts]:
    """With ``product.pack``: each node whose home was read and is missing (no carbon.xml)
    read instead from the zip the ``pack`` step will unpack there, so that the plan is
    the plan of an unpacked home (and the preflight checks the zip's product)."""
    out: dict[str, HomeFacts] = {}
    for node, (home, extra) in homes.items():
        if not pack or node not in found or found[node].present:
            continue
        facts = read_home(open_pack(pack).view(home), node, home, extra)
        facts.pack = pack
        out[node] = facts
    return out
