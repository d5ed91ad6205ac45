"""Planner part for ``product.pack`` (CHECKLIST C1: the pack uploaded and unpacked).

With a pack answered, every node gets one ``pack`` step, first in the plan (the steps of
different hosts run in parallel, so all uploads go at once): it is satisfied by a home
that holds the answered product, and else uploads the zip, checks its sha256 and unpacks
it into the home (wizard/steps/pack.py). The plan does not depend on which homes are
missing (a resumed session and an exported project stay valid); the survey reads a
missing home from the zip, so the other steps are those of an unpacked home.

Every step on that node depends on its ``pack`` step, and so does a step elsewhere that
reads from the node's home (a ``dbscript`` step's ``source_node``).
"""

from __future__ import annotations

import posixpath

from wizard.planning.base import BuilderBase, uniq
from wizard.planning.base import abspath as _abs
from wizard.planning.layout import wanted_products

# in a home the wizard unpacked: what it came from (and the session), and the sha256 of
# every file as unpacked (sha256sum's format), for rollback's "changed since" check
PACK_MARKER = ".carbon-wizard-pack"
PACK_MANIFEST = ".carbon-wizard-pack.sha256"


def add_pack(b: BuilderBase) -> None:
    source = b.a.product.pack
    if not source:
        return
    zip_name = posixpath.basename(source)
    first = []
    for n in b.cx.nodes:
        name, home = n["name"], n["home"]
        b.add(
            f"{name}:pack",
            "pack",
            name,
            f"unpack {zip_name} to {home} if the home is missing (upload, sha256 check, "
            "unzip, rename into place)",
            {
                "source": source,
                "home": home,
                "products": wanted_products(b.p, n, b.node_ctx[name]),
                "marker": _abs(home, PACK_MARKER),
                "manifest": _abs(home, PACK_MANIFEST),
            },
            [],
            [],
        )
        first.append(b.steps.pop())
    packed = {s.host: s.id for s in first}
    for s in b.steps:
        deps = [packed[h] for h in (s.host, s.inputs.get("source_node")) if h in packed]
        if deps:
            s.depends_on = uniq([*deps, *s.depends_on])
    b.steps[:0] = first
