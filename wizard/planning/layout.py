"""Planner part that reads a node's home facts: which datasource each database lands
in (wizard/planning/dslayout.py), and whether the home holds the product the answers name.

Without facts (``plan --offline``) a stock pack is assumed: the datasources of
common.yaml ``pack_datasources`` plus the pattern's own, and no reference read.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from wizard.catalog import stock_datasources, values
from wizard.catalog.model import Edit, Pattern
from wizard.errors import WizardError, bad_input
from wizard.planning.dslayout import DataSource, Layout, Ref, Want, resolve
from wizard.planning.homefacts import CARBON_XML, HomeFacts

ASSUMED = "no home read (offline plan): a stock pack is assumed"


def _stock(pattern: Pattern) -> list[DataSource]:
    return [
        DataSource(d.file, d.name, d.jndi, d.url)
        for d in [*stock_datasources(), *pattern.pack_datasources]
    ]


def _has_role(node: dict[str, Any], roles: list[str]) -> bool:
    return "all" in roles or node["role"] in roles


def _edit_ctx(e: Edit, ctx: dict[str, Any], where: str) -> dict[str, Any] | None:
    """The context of an edit on a node, or None when its ``when`` is false."""
    ectx = {**ctx, "p": values.render(e.params, ctx, where)} if e.params else ctx
    return ectx if values.when(e.when, ectx, where) else None


def ref_files(pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    """Files (relative to the home) whose datasource references the plan follows."""
    out: list[str] = []
    for i, e in enumerate(pattern.edits):
        if e.ref is None or not _has_role(node, e.roles):
            continue
        where = f"catalog {pattern.id}: edit {i} ({e.macro or e.file})"
        ectx = _edit_ctx(e, ctx, where)
        if ectx is not None:
            out.append(values.text(e.file, ectx, where))
    return list(dict.fromkeys(out))


def _refs(
    pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any], facts: HomeFacts | None
) -> list[Ref]:
    out = []
    for i, e in enumerate(pattern.edits):
        if e.ref is None or not _has_role(node, e.roles):
            continue
        where = f"catalog {pattern.id}: edit {i} ({e.macro or e.file})"
        ectx = _edit_ctx(e, ctx, where)
        if ectx is None:
            continue
        file = values.text(e.file, ectx, where)
        at = values.text(e.ref.at or e.locator or "", ectx, where)
        key = values.text(e.ref.db, ectx, where)
        current = facts.value_at(file, at) if facts is not None else None
        label = f"{file.removeprefix('repository/conf/')} {at}"
        out.append(Ref(key, file, at, label, current))
    return out


def _used_keys(pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    keys = []
    for i, e in enumerate(pattern.edits):
        if e.macro != "datasource" or not _has_role(node, e.roles):
            continue
        where = f"catalog {pattern.id}: edit {i} (datasource)"
        if _edit_ctx(e, ctx, where) is not None:
            keys.append(str(values.render(e.params, ctx, where)["key"]))
    return keys


def _keep_local(pattern: Pattern, node: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        str(n)
        for e in pattern.edits
        if e.macro == "verify_local_datasources" and _has_role(node, e.roles)
        for n in e.params.get("names", [])
    )


def _targets(ctx: dict[str, Any]) -> frozenset[str]:
    db = ctx["db"]
    hosts = {h for h in (db["host"], db["host_alias"], db["ip"]) if h}
    return frozenset(f"{h}:{db['port']}/{d['name']}" for h in hosts for d in ctx["dbs"].values())


def place(
    pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any], facts: HomeFacts | None
) -> tuple[dict[str, Any], Layout]:
    """The node's ``dbs`` context with each database placed, and the layout."""
    refs = _refs(pattern, node, ctx, facts)
    keys = list(dict.fromkeys([*_used_keys(pattern, node, ctx), *(r.key for r in refs)]))
    dbs = ctx["dbs"]
    unknown = [k for k in keys if k not in dbs]
    if unknown:
        raise bad_input(f"catalog {pattern.id}: unknown database key(s) {', '.join(unknown)}")
    wants = [
        Want(
            k,
            dbs[k]["ds_name"] or k.upper(),
            dbs[k]["jndi"] or f"jdbc/{k}",
            dbs[k]["name"],
            dbs[k]["user"],
        )
        for k in keys
    ]
    sources = facts.datasources() if facts is not None and facts.present else _stock(pattern)
    layout = resolve(
        wants,
        sources,
        refs,
        keep_local=_keep_local(pattern, node),
        targets=_targets(ctx),
    )
    if facts is None or not facts.present:
        layout.notes.insert(0, ASSUMED if facts is None else f"{node['home']}: {ASSUMED}")
    placed = dict(dbs)
    for key, pl in layout.placements.items():
        placed[key] = {
            **dbs[key],
            "jndi": pl.jndi,
            "ds_name": pl.name,
            "ds_file": pl.file,
            "exists": pl.exists,
            "ds_match": pl.match,
            "ds_locator": pl.locator,
        }
    return placed, layout


def default_dbs(pattern: Pattern, dbs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``dbs`` for contexts outside a node (and before placing): the stock assumption."""
    stock = {d.jndi: d for d in _stock(pattern)}
    out = {}
    for key, d in dbs.items():
        ds = stock.get(d["jndi"] or "")
        out[key] = {
            **d,
            "ds_file": ds.file if ds else "repository/conf/datasources/master-datasources.xml",
            "exists": ds is not None,
            "ds_locator": (
                f"/datasources-configuration/datasources/datasource[jndiConfig/name='{d['jndi']}']"
            ),
        }
    return out


def wanted_products(pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    """What carbon.xml's ``<Name> <Version>`` may say for this node's role."""
    role = pattern.roles.get(node["role"])
    where = f"catalog {pattern.id}: role {node['role']} products"
    return [
        values.text(p, ctx, where)
        for p in ((role.products if role else None) or ["WSO2 API Manager {{ product.version }}"])
    ]


def product_problem(
    pattern: Pattern, node: dict[str, Any], ctx: dict[str, Any], facts: HomeFacts | None
) -> WizardError | None:
    """The home holds another product or version than the answers' (the preflight stops
    the run on it, before any change); None when it is right or not read."""
    if facts is None or not facts.present:
        return None
    found = facts.product()
    wanted = wanted_products(pattern, node, ctx)
    if found is not None and str(found).lower() in {w.lower() for w in wanted}:
        return None
    path = posixpath.join(node["home"], CARBON_XML)
    holds = f"{found}" if found and str(found) else "no product name and version"
    if facts.pack:  # the home is missing: the zip product.pack would unpack there
        return bad_input(
            f"the product pack {facts.pack} (for the missing home {node['home']} on node "
            f"{node['name']}) holds {holds} (carbon.xml <Name>/<Version>); this "
            f"{pattern.id} plan is for {' or '.join(wanted)}: nothing was changed",
            fix="give product.pack the zip of that product and version",
            host=node["name"],
            file=facts.pack,
            field="product.pack",
        )
    return bad_input(
        f"the home {node['home']} on node {node['name']} holds {holds} (carbon.xml "
        f"<Name>/<Version>); this {pattern.id} plan is for {' or '.join(wanted)}: nothing "
        "was changed",
        fix="point nodes[].home (or product.home) at a home of that product and version, "
        "or answer the product.version the home holds if the pattern supports it",
        host=node["name"],
        file=path,
        line=found.line if found else None,
    )
