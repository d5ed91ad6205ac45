"""Secure Vault in the plan (answers ``product.secure_vault``): see catalog/FORMAT.md.

:func:`add_vault` runs on the planner's builder after the start groups are planned:

- option on: one ``vault`` step per node whose catalog edits name Secure Vault aliases
  (``svns:secretAlias``), after every other step of its home and before its start; each
  start step of that node gets ``password_file`` (``password-tmp`` in the home, the key
  store password, and the key password when the answers give one, then started with
  ``-Dkey.password=true`` as DefaultSecretCallbackHandler wants);
- always: a note per node naming the files the plan still writes a password into in
  plain text (every file of a secret edit without the option; with it, those Carbon
  2.6.0 reads without Secure Vault).

An alias edit is an ``attr`` edit of ``svns:secretAlias``; its value is the alias and its
macro's ``secret`` parameter is an expression (no braces) naming the secret, evaluated
with ``p``: ``keystore.password``, ``dbs[p.key].password``.
"""

from __future__ import annotations

from typing import Any, Protocol

from wizard.catalog import values
from wizard.errors import bad_input
from wizard.plan import Step, fingerprint
from wizard.planning.base import abspath
from wizard.planning.dslayout import Layout
from wizard.secretrefs import has_token
from wizard.securevault import CIPHER_TEXT, PASSWORD_FILE, SECRET_CONF

ALIAS_ATTR = "svns:secretAlias"
_WRITES = frozenset({"set", "attr", "ins", "upsert", "add", "repl", "json", "prop", "hosts"})
_KEY_PASSWORD_FLAG = "-Dkey.password=true"


class Builder(Protocol):
    """What :func:`add_vault` uses of the planner's builder (wizard/planning/base.py)."""

    a: Any
    p: Any
    cx: Any
    steps: list[Step]
    ids: set[str]
    node_ctx: dict[str, dict[str, Any]]
    layouts: dict[str, Layout]
    by_node: dict[str, list[str]]
    certs: dict[str, str]

    def has_role(self, n: dict[str, Any], roles: list[str]) -> bool: ...

    def where(self, what: str) -> str: ...


def secrets_of(b: Builder, n: dict[str, Any]) -> list[dict[str, str]]:
    """The node's aliases: ``{alias, secret (token), file}``, by alias."""
    ctx = b.node_ctx[n["name"]]
    found: dict[str, dict[str, str]] = {}
    for i, e in enumerate(b.p.edits):
        if e.op != "attr" or e.attr != ALIAS_ATTR or not b.has_role(n, e.roles):
            continue
        where = b.where(f"edit {i} ({e.macro or e.file})")
        ectx = {**ctx, "p": values.render(e.params, ctx, where)} if e.params else ctx
        if not values.when(e.when, ectx, where):
            continue
        alias = values.text(str(e.value), ectx, where)
        source = str(e.params.get("secret") or "")
        secret = values.evaluate(source, ectx, where) if source else None
        if not isinstance(secret, str) or not has_token(secret):
            raise bad_input(
                f"{where}: the Secure Vault alias {alias} names no secret",
                fix="give its macro a secret parameter naming one, e.g. keystore.password",
                file=where,
            )
        file = values.text(e.file, ectx, where)
        found.setdefault(alias, {"alias": alias, "secret": secret, "file": file})
    return [found[a] for a in sorted(found)]


def plaintext_files(b: Builder, name: str) -> list[str]:
    """The files the plan writes a secret into in plain text on node ``name``."""
    files = {
        s.inputs.get("file") or s.inputs["path"]
        for s in b.steps
        if s.host == name
        and s.kind == "file_edit"
        and any(e.get("secret") and e["op"] in _WRITES for e in s.inputs.get("edits", []))
    }
    return sorted(files)


def _keystore_step_ids(b: Builder) -> list[str]:
    ids = set(b.certs.values())
    return [s.id for s in b.steps if s.id in ids and s.inputs.get("kind") == "keystore"]


def _vault_step(b: Builder, n: dict[str, Any], secrets: list[dict[str, str]]) -> Step:
    name, home = n["name"], n["home"]
    ks = b.node_ctx[name]["keystore"]
    inputs = {
        "home": home,
        "cipher_text": abspath(home, CIPHER_TEXT),
        "secret_conf": abspath(home, SECRET_CONF),
        "store_password": ks["password"],
        "key_password": ks["key_password"],
        "secrets": secrets,
    }
    n_s = len(secrets)
    return Step(
        f"{name}:vault",
        "vault",
        name,
        f"Secure Vault: {n_s} password{'s' if n_s != 1 else ''} encrypted with the primary "
        "key store into cipher-text.properties, secret-conf.properties (ciphertool -Dconfigure)",
        inputs,
        [],
        list(dict.fromkeys([*b.by_node[name], *_keystore_step_ids(b)])),
    )


def _give_password(b: Builder, start: Step, n: dict[str, Any], vault_id: str) -> None:
    ks = b.node_ctx[n["name"]]["keystore"]
    lines = [ks["password"]]
    if ks["key_password"] != ks["password"]:  # the answers give a key password of its own
        lines.append(ks["key_password"])
        if _KEY_PASSWORD_FLAG not in start.inputs["args"]:
            start.inputs["args"] = [*start.inputs["args"], _KEY_PASSWORD_FLAG]
            start.description = start.description.replace(")", f" {_KEY_PASSWORD_FLAG})", 1)
    start.inputs["password_file"] = {
        "path": abspath(n["home"], PASSWORD_FILE),
        "lines": lines,
        "timeout": b.a.start.timeout,
    }
    if PASSWORD_FILE not in start.description:
        start.description = start.description.replace(
            ")", f"; the key store password from {PASSWORD_FILE})", 1
        )
    start.depends_on = list(dict.fromkeys([*start.depends_on, vault_id]))
    start.fingerprint = fingerprint(start.kind, start.host, start.inputs)


def add_vault(b: Builder) -> None:
    """Vault steps and plain-text notes (see the module doc); call after the starts are
    planned, before the plan is made."""
    vault = bool(b.a.product.secure_vault)
    for n in b.cx.nodes:
        name = n["name"]
        secrets = secrets_of(b, n) if vault else []
        if secrets:
            step = _vault_step(b, n, secrets)
            starts = [s for s in b.steps if s.host == name and s.kind == "start"]
            at = b.steps.index(starts[0]) if starts else len(b.steps)
            b.steps.insert(at, step)
            b.ids.add(step.id)
            b.by_node[name].append(step.id)
            for start in starts:
                _give_password(b, start, n, step.id)
        files = plaintext_files(b, name)
        if files and name in b.layouts:
            b.layouts[name].notes.append(
                f"passwords in plain text in {', '.join(files)}: Carbon 2.6.0 reads them "
                "without Secure Vault"
                if vault
                else f"passwords in plain text in {', '.join(files)} (answers "
                "product.secure_vault: true encrypts the datasource, key store and admin "
                "passwords)"
            )
