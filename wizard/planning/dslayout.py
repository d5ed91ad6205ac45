"""Where each database of a pattern lands on a node: which datasource, in which file.

Carbon loads every file of ``repository/conf/datasources/``; admins and packs spread
datasources over several (an Open Banking pack binds ``jdbc/WSO2OpenBankingDB`` in
``open-banking-datasources.xml``) and share them (``WSO2_COMMON_DB`` for users and
registry). :func:`resolve` is pure: given what the home holds (datasources and the
references that user-mgt.xml, registry.xml, api-manager.xml... make today), it decides
per database key:

1. **reused**: the references of the key all name one datasource today, it is not a
   node-local one (H2, or kept local by the pattern) and every key referring to it gets
   the same database in the answers: that datasource is updated in place;
2. **found**: a datasource binds the pattern's JNDI name (in whatever file): updated in
   place, never bound a second time;
3. **by name**: a datasource of the pattern's name exists: updated in place, its JNDI
   name kept;
4. **new**: added to master-datasources.xml.

References are then pointed at the chosen JNDI name (a no-op when reused). Datasources
left pointing at a server or database the answers no longer use are reported in notes,
never deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

MASTER = "repository/conf/datasources/master-datasources.xml"
DS_ROOT = "/datasources-configuration/datasources"

How = Literal["reused", "found", "by-name", "new"]


@dataclass(frozen=True)
class DataSource:
    """A live datasource of a home (comments are not datasources)."""

    file: str  # relative to the home
    name: str
    jndi: str
    url: str
    line: int | None = None

    @property
    def local(self) -> bool:
        """Node-local storage (embedded H2), never a shared database."""
        return not self.url or self.url.startswith("jdbc:h2:")

    def target(self) -> str:
        """``host:port/db`` of a MySQL URL, else the URL."""
        m = re.match(r"jdbc:mysql://([^/?]+)/([^?;]*)", self.url)
        return f"{m.group(1)}/{m.group(2)}" if m else self.url

    def short(self) -> str:
        return f"{self.name} ({_base(self.file)}, {self.target()})"


@dataclass(frozen=True)
class Ref:
    """A place that names a datasource by JNDI name, and the database key it serves."""

    key: str
    file: str  # relative to the home
    at: str  # XPath of the element holding the JNDI name
    label: str  # for people: "user-mgt.xml dataSource"
    current: str | None  # what it names today; None: absent, or not read (offline)


@dataclass(frozen=True)
class Want:
    """What the pattern needs for one database key on this node."""

    key: str
    ds_name: str
    jndi: str
    database: str  # the answered database name
    user: str


@dataclass
class Placement:
    key: str
    file: str
    name: str
    jndi: str
    how: How
    was: str = ""  # for reused/found: the URL's target before the run

    @property
    def exists(self) -> bool:
        return self.how != "new"

    @property
    def match(self) -> str:
        """XPath of the datasource under ``datasources`` (by JNDI name; by name when it
        has none)."""
        if self.how == "by-name" and not self.jndi:
            return f"datasource[name='{self.name}']"
        return f"datasource[jndiConfig/name='{self.jndi}']"

    @property
    def locator(self) -> str:
        return f"{DS_ROOT}/{self.match}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "name": self.name, "jndi": self.jndi, "how": self.how}

    def sentence(self, database: str) -> str:
        where = _base(self.file)
        what = {
            "reused": "reused (the references name it today), updated in place",
            "found": "updated in place",
            "by-name": "found by name, updated in place",
            "new": "added",
        }[self.how]
        return f"{database}: datasource {self.name} ({self.jndi}) in {where}, {what}"


@dataclass
class Layout:
    placements: dict[str, Placement] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _base(path: str) -> str:
    return path.removeprefix("repository/conf/")


def resolve(
    wants: list[Want],
    sources: list[DataSource],
    refs: list[Ref],
    *,
    keep_local: frozenset[str] = frozenset(),
    targets: frozenset[str] = frozenset(),
) -> Layout:
    """Place every wanted database (see the module doc). ``targets`` are the
    ``host:port/db`` the answers use (for the report of datasources left behind)."""
    layout = Layout()
    by_jndi: dict[str, DataSource] = {}
    for ds in sources:
        if not ds.jndi:
            continue
        if ds.jndi in by_jndi:
            first = by_jndi[ds.jndi]
            layout.notes.append(
                f"{ds.jndi} is bound twice ({first.name} in {_base(first.file)}, {ds.name} in "
                f"{_base(ds.file)}): Carbon refuses a JNDI name bound twice; remove one by hand"
            )
            continue
        by_jndi[ds.jndi] = ds
    by_name = {ds.name: ds for ds in sources}
    refs_of: dict[str, list[Ref]] = {}
    for r in refs:
        refs_of.setdefault(r.key, []).append(r)
    want_of = {w.key: w for w in wants}

    # 1. reuse what the references name today, when that is consistent
    named: dict[str, DataSource] = {}
    for w in wants:
        now = {r.current for r in refs_of.get(w.key, []) if r.current}
        if len(now) == 1:
            current = by_jndi.get(next(iter(now)))
            if current is not None and not current.local and current.name not in keep_local:
                named[w.key] = current
    taken: dict[str, str] = {}  # jndi -> key that owns it
    for key, ds in named.items():
        sharers = [k for k, d in named.items() if d is ds]
        owners = [w.key for w in wants if w.jndi == ds.jndi and w.key not in sharers]
        same = {(want_of[k].database, want_of[k].user) for k in sharers}
        if len(same) == 1 and not owners:
            layout.placements[key] = Placement(
                key,
                ds.file,
                ds.name,
                ds.jndi,
                "reused" if ds.jndi != want_of[key].jndi else "found",
                ds.target(),
            )
            taken[ds.jndi] = key
        elif key == sharers[0]:
            dbs = ", ".join(sorted({want_of[k].database for k in sharers}))
            layout.notes.append(
                f"{ds.short()} serves {', '.join(sharers)} today; these answers give them "
                f"different databases ({dbs}), so each gets its own datasource. To keep "
                "one shared database, answer the same database name for them"
            )

    # 2-4. the pattern's JNDI name, then its datasource name, else a new one
    for w in wants:
        if w.key in layout.placements:
            continue
        bound = by_jndi.get(w.jndi)
        if bound is not None:
            ds = bound
            owner = taken.get(ds.jndi)
            if owner is not None and want_of[owner].database != w.database:
                layout.notes.append(
                    f"{w.jndi} is the datasource of {owner} and of {w.key}, with different "
                    "databases in the answers; both are pointed at "
                    f"{want_of[owner].database}. Give them one database or fix the references"
                )
            layout.placements[w.key] = Placement(
                w.key, ds.file, ds.name, ds.jndi, "found", ds.target()
            )
        elif w.ds_name in by_name and (by_name[w.ds_name].jndi or "") not in taken:
            ds = by_name[w.ds_name]
            layout.placements[w.key] = Placement(
                w.key, ds.file, ds.name, ds.jndi, "by-name", ds.target()
            )
        else:
            layout.placements[w.key] = Placement(w.key, MASTER, w.ds_name, w.jndi, "new")
        taken.setdefault(layout.placements[w.key].jndi, w.key)

    layout.notes[:0] = [
        layout.placements[w.key].sentence(w.database) for w in wants if w.key in layout.placements
    ]
    layout.notes += _moved_refs(refs, layout.placements, by_jndi)
    layout.notes += _left_behind(sources, layout.placements, refs, targets, keep_local)
    return layout


def _moved_refs(
    refs: list[Ref], placements: dict[str, Placement], by_jndi: dict[str, DataSource]
) -> list[str]:
    out = []
    for r in refs:
        p = placements.get(r.key)
        if p is None or not r.current or r.current == p.jndi:
            continue
        now = by_jndi.get(r.current)
        was = f"{r.current} ({now.name})" if now else f"{r.current}, which no datasource binds"
        out.append(f"{r.label}: {was} -> {p.jndi}")
    return out


def _left_behind(
    sources: list[DataSource],
    placements: dict[str, Placement],
    refs: list[Ref],
    targets: frozenset[str],
    keep_local: frozenset[str],
) -> list[str]:
    used = {(p.file, p.name) for p in placements.values()}
    moved_from = {r.current for r in refs if r.current and r.current != placements[r.key].jndi}
    still = {placements[r.key].jndi for r in refs if r.key in placements}
    out = []
    for ds in sources:
        if (ds.file, ds.name) in used or ds.local:
            continue
        orphan = ds.jndi in moved_from and ds.jndi not in still
        foreign = ds.target() not in targets
        if orphan:
            out.append(
                f"{ds.short()} is no longer referenced by the files this pattern edits; "
                "left as is (remove it by hand once nothing else uses it)"
            )
        elif foreign and ds.name not in keep_local:  # kept-local ones: the expect edits say
            out.append(f"{ds.short()} points at a database these answers do not use; left as is")
    return out
