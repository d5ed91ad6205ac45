"""Step handlers: for each plan step kind, ``check`` (is it in place?) and ``apply``.

``handlers()`` gives them by kind; each module of this package exports a ``HANDLERS``
mapping of step kind to handler, and is imported when one of its kinds is first asked
for: ``apply --only files`` never loads the TLS (cryptography), Secure Vault or NGINX
modules. :data:`KINDS` says which module holds which kind (a unit test checks it
against the modules' ``HANDLERS``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

KINDS: dict[str, str] = {
    "file_edit": "files",
    "hosts_entry": "files",
    "driver": "driver",
    "preflight": "nodes",
    "start": "nodes",
    "wait": "nodes",
    "profile": "profile",
    "database": "database",
    "dbscript": "database",
    "sync_script": "sync",
    "symlink": "links",
    "certificate": "tls",
    "truststore": "tls",
    "load_balancer": "lb",
    "restore_file": "undo",
    "stop_node": "undo",
    "restore_link": "undo",
    "remove_cron": "undo",
    "reload_lb": "undo",
    "drop_database": "undo",
    "vault": "vault",  # Secure Vault (product.secure_vault)
    "pack": "pack",  # product.pack: a missing home unpacked (and removed by rollback)
    "remove_home": "pack",
    "ssh_key": "synckey",  # the artifact sync's SSH key and its authorisation on the workers
    "authorized_key": "synckey",
}
MODULES = tuple(dict.fromkeys(KINDS.values()))


class Handlers(Mapping[str, Any]):
    """The handler of each step kind, its module imported on first use (thread-safe).

    In check mode a step in a home that a pack step is still to unpack is seen as such:
    every handler but the pack's own and the rollback's is wrapped by
    :func:`wizard.steps.pack.after_pack`."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getitem__(self, kind: str) -> Any:
        found = self._loaded.get(kind)
        if found is not None:
            return found
        module = KINDS[kind]  # KeyError for a kind no module handles, as a dict gives
        handler = importlib.import_module(f"wizard.steps.{module}").HANDLERS[kind]
        wrap: Any = importlib.import_module("wizard.steps.pack").after_pack
        with self._lock:
            return self._loaded.setdefault(kind, wrap({kind: handler})[kind])

    def __contains__(self, kind: object) -> bool:
        return kind in KINDS

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)

    def load(self, kinds: Iterable[str]) -> Handlers:
        """Import the modules of ``kinds`` now (e.g. in the background, while the hosts
        are scanned); unknown kinds are left to fail where they are run."""
        for kind in kinds:
            if kind in KINDS:
                self[kind]
        return self


def handlers() -> Handlers:
    return Handlers()
