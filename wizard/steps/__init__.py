"""Step handlers: for each plan step kind, ``check`` (is it in place?) and ``apply``.

``handlers()`` gathers them from the modules of this package; each module exports a
``HANDLERS`` mapping of step kind to handler.
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES = (
    "files",
    "driver",
    "nodes",
    "profile",
    "database",
    "sync",
    "links",
    "tls",
    "lb",
    "undo",
    "vault",  # Secure Vault (product.secure_vault)
    "pack",  # product.pack: a missing home unpacked (and removed by rollback)
    "synckey",  # the artifact sync's SSH key and its authorisation on the workers
)


def handlers() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in MODULES:
        found.update(importlib.import_module(f"wizard.steps.{name}").HANDLERS)
    # in check mode, a step in a home that a pack step is still to unpack would change
    after_pack: Any = importlib.import_module("wizard.steps.pack").after_pack
    return dict(after_pack(found))
