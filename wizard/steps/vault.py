"""``vault`` steps (answers ``product.secure_vault``): what ``ciphertool.sh -Dconfigure``
does to a home besides the XML, done by the wizard itself; and the password file a start
gives the node.

The catalog's edits already put the placeholder ``password`` and ``svns:secretAlias`` in
the XML files (file_edit steps). This step, per node:

- opens the primary key store carbon.xml names (``Security/KeyStore``), with the store
  and key passwords of the answers (in memory only);
- cipher-text.properties: each alias of the step holds its secret encrypted with the key
  store's certificate (RSA/ECB/PKCS1Padding, base64), every other ``alias=[plain text]``
  entry is encrypted too, as the tool does; already encrypted entries stay;
- secret-conf.properties: the repository and key store settings the tool writes.

check: every alias decrypts (with the private key) to its secret, no ``[plain text]``
entry is left, secret-conf.properties holds the tool's settings. apply: rewrite what is
not so. A secret never reaches a diff, a log, the journal or argv: the outcome names the
aliases only. The tool itself is not run: the fake pack has none, and it would need the
key store password on its console or argv (``-Dpassword=``).

A start of a node whose home uses Secure Vault writes ``password-tmp`` (0600, through
stdin) into the home just before ``wso2server.sh start``: carbon-kernel v4.4.35
``DefaultSecretCallbackHandler`` reads the key store password from it at boot and deletes
it; the start waits until the node has done so, and removes it itself on any failure.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wizard import securevault as sv
from wizard.changes import backup_suffix
from wizard.errors import WizardError, step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step
from wizard.secretrefs import substitute
from wizard.steps.files import remove_leftovers
from wizard.wait import Timeout, poll

_COMMENT = "carbon-wizard: encrypted with the primary key store (ciphertool.sh -Dconfigure)"
_CONF_COMMENT = "carbon-wizard: Secure Vault settings (ciphertool.sh -Dconfigure)"


@dataclass
class _Look:
    """What a node's home holds now, and what it should."""

    pair: sv.KeyPair
    wanted: dict[str, str]  # alias -> secret (plain, in memory only)
    entries: dict[str, str]  # cipher-text.properties now
    text_existed: bool
    stale: list[str]  # managed aliases that do not decrypt to their secret
    plain: list[str]  # other entries still in plain text
    conf: dict[str, str]  # secret-conf.properties as it should be
    conf_now: dict[str, str] | None  # as it is (None: absent)

    @property
    def conf_ok(self) -> bool:
        now = self.conf_now or {}
        return self.conf_now is not None and all(now.get(k) == v for k, v in self.conf.items())

    @property
    def satisfied(self) -> bool:
        return not self.stale and not self.plain and self.conf_ok


def _read(t: Any, path: str) -> bytes | None:
    st = t.stat(path)
    return t.read(path, st.size) if st.exists else None


def _paths(step: Step) -> tuple[str, str, str]:
    home = step.inputs["home"].rstrip("/")
    return (
        f"{home}/repository/conf/carbon.xml",
        f"{home}/{sv.CIPHER_TEXT}",
        f"{home}/{sv.SECRET_CONF}",
    )


def _open(step: Step, ctx: RunContext) -> tuple[sv.PrimaryKeyStore, sv.KeyPair]:
    t = ctx.transport(step.host)
    carbon_path, _, _ = _paths(step)
    carbon = _read(t, carbon_path)
    if carbon is None:
        raise step_failed(f"{carbon_path} does not exist", host=step.host, file=carbon_path)
    try:
        ks = sv.primary_keystore(carbon, step.inputs["home"])
    except (sv.VaultError, ValueError) as exc:
        raise step_failed(str(exc), host=step.host, file=carbon_path) from None
    data = _read(t, ks.path)
    if data is None:
        raise step_failed(
            f"the primary key store {ks.path} (carbon.xml Security/KeyStore) does not exist",
            fix="put the key store there, or point carbon.xml at it",
            host=step.host,
            file=ks.path,
        )
    store_pw = substitute(step.inputs["store_password"], ctx.secret)
    key_pw = substitute(step.inputs["key_password"], ctx.secret)
    try:
        return ks, sv.open_keystore(data, ks.store_type, ks.alias, store_pw, key_pw)
    except sv.VaultError as exc:
        raise step_failed(
            f"cannot open the primary key store {ks.path} (alias {ks.alias}): {exc}",
            fix="give the key store's real passwords in the answers (keystore.password, "
            "keystore.key_password); Secure Vault encrypts with its certificate",
            host=step.host,
            file=ks.path,
        ) from None


def _look(step: Step, ctx: RunContext) -> _Look:
    t = ctx.transport(step.host)
    ks, pair = _open(step, ctx)
    _, text_path, conf_path = _paths(step)
    wanted = {e["alias"]: substitute(e["secret"], ctx.secret) for e in step.inputs["secrets"]}
    raw = _read(t, text_path)
    entries = sv.read_properties(raw.decode("utf-8", "replace")) if raw is not None else {}
    stale = [a for a, v in wanted.items() if sv.decrypt(pair, entries.get(a, "")) != v]
    plain = [k for k, v in entries.items() if k not in wanted and sv.plain_text(v) is not None]
    conf_raw = _read(t, conf_path)
    conf_now = sv.read_properties(conf_raw.decode("utf-8", "replace")) if conf_raw else None
    return _Look(pair, wanted, entries, raw is not None, stale, plain, sv.secret_conf(ks), conf_now)


def _summary(look: _Look, step: Step) -> str:
    """What would change, by alias: never a value."""
    _, text_path, conf_path = _paths(step)
    lines = []
    for alias in look.stale:
        how = "added" if alias not in look.entries else "encrypted again (another secret)"
        lines.append(f"{text_path}: {alias} {how}")
    lines += [f"{text_path}: {k} encrypted (was plain text)" for k in look.plain]
    if not look.conf_ok:
        lines.append(f"{conf_path}: {'written' if look.conf_now is not None else 'created'}")
    return "\n".join(lines)


def _plain_backups(step: Step, ctx: RunContext, secrets: list[str]) -> list[str]:
    """Notes: backups of the vaulted files (``<file>.carbon-wizard-<session>.bak``, kept
    for rollback) that still hold one of the secrets in plain text."""
    t = ctx.transport(step.host)
    home = step.inputs["home"].rstrip("/")
    notes = []
    for rel in sorted({e["file"] for e in step.inputs["secrets"]}):
        path = rel if rel.startswith("/") else f"{home}/{rel}"
        folder, name = posixpath.split(path)
        try:
            names = t.listdir(folder)
        except (WizardError, OSError):
            continue
        for other in names:
            if other.startswith(f"{name}.carbon-wizard-") and other.endswith(".bak"):
                data = _read(t, f"{folder}/{other}") or b""
                if any(v and v.encode() in data for v in secrets):
                    notes.append(
                        f"{folder}/{other} (a backup rollback needs) holds a password in "
                        "plain text; remove it once you will not roll that session back"
                    )
    return notes


class VaultHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        try:
            look = _look(step, ctx)
        except WizardError as exc:
            if not ctx.check_mode:
                raise
            # --check: the key store or carbon.xml may be what an earlier step would change
            return Outcome(False, f"would encrypt secrets; now: {exc.what}")
        notes = _plain_backups(step, ctx, list(look.wanted.values()))
        if look.satisfied:
            return Outcome(True, f"{len(look.wanted)} secrets encrypted", notes=notes)
        return Outcome(False, "would encrypt secrets (Secure Vault)", _summary(look, step), notes)

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        look = _look(step, ctx)
        if look.satisfied:
            return Outcome(True, "unchanged")
        t = ctx.transport(step.host)
        _, text_path, conf_path = _paths(step)
        suffix = backup_suffix(ctx.session_id)
        if look.stale or look.plain:
            order = list(look.entries) + [a for a in look.wanted if a not in look.entries]
            out: list[tuple[str, str]] = []
            for key in order:
                value = look.entries.get(key, "")
                if key in look.stale:
                    value = sv.encrypt(look.pair, look.wanted[key])
                elif key in look.plain:
                    value = sv.encrypt(look.pair, sv.plain_text(value) or "")
                out.append((key, value))
            data = sv.write_properties(out, _COMMENT).encode("utf-8")
            remove_leftovers(t, text_path)
            t.write_atomic(
                text_path,
                data,
                mode=None if look.text_existed else 0o600,
                backup_suffix=suffix if look.text_existed else None,
            )
        if not look.conf_ok:
            data = sv.write_properties(list(look.conf.items()), _CONF_COMMENT).encode("utf-8")
            remove_leftovers(t, conf_path)
            existed = look.conf_now is not None
            t.write_atomic(
                conf_path,
                data,
                mode=None if existed else 0o644,
                backup_suffix=suffix if existed else None,
            )
        ctx.state.changed_hosts.add(step.host)
        return Outcome(True, f"encrypted {len(look.stale) + len(look.plain)} secrets")


# -- the start's password file ------------------------------------------------------------


@contextmanager
def password_file(step: Step, ctx: RunContext, alive: Callable[[], bool]) -> Iterator[None]:
    """Around a ``start`` step's command: write the node's ``password-tmp`` (its input
    ``password_file``: path, token lines, timeout) before, wait until the node has read
    and deleted it after; remove it when anything fails. No input: nothing to do."""
    spec = step.inputs.get("password_file")
    if not spec:
        yield
        return
    t = ctx.transport(step.host)
    path = spec["path"]
    data = "".join(substitute(line, ctx.secret) + "\n" for line in spec["lines"]).encode()
    folder = shlex.quote(posixpath.dirname(path))
    script = (
        f"umask 077 && tmp=$(mktemp {folder}/.password-tmp.XXXXXXXX) && "
        f'cat > "$tmp" && mv -f "$tmp" {shlex.quote(path)}'
    )
    t.run(script, stdin=data, timeout=30).check(f"write {path}", host=step.host)
    done = False
    try:
        yield

        def read_by_node() -> bool:
            if not t.exists(path):
                return True
            if not alive():
                raise step_failed(
                    f"the node stopped before it read its key store password from {path}",
                    fix="look at repository/logs/wso2carbon.log, fix the cause and resume",
                    host=step.host,
                )
            return False

        try:
            poll(read_by_node, deadline=float(spec.get("timeout", 600)), what=path, interval=0.2)
        except Timeout:
            raise step_failed(
                f"the node did not read its key store password from {path} (Secure Vault)",
                fix="check repository/conf/security/secret-conf.properties (the vault step "
                "writes it) and the log; the file was removed",
                host=step.host,
                file=path,
            ) from None
        done = True
    finally:
        if not done:
            try:
                t.run(["rm", "-f", "--", path], timeout=30)
            except (WizardError, OSError):
                pass


HANDLERS = {"vault": VaultHandler()}
