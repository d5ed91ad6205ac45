"""``ssh_key`` and ``authorized_key`` steps: the artifact sync logs in from its source
node to the workers with a key and no hand step (CHECKLIST C7).

- ``ssh_key`` (on the sync source): the key must be usable by cron, i.e. without a
  passphrase (``ssh-keygen -y -P ''`` reads it). The wizard makes one (ed25519,
  ``ssh-keygen`` on that host: the private key never leaves it) when ``sync.key`` is not
  answered; a given key must be there. A key the wizard made is journaled as written,
  so ``rollback`` removes it.
- ``authorized_key`` (on a worker): the key's public half, read from the source node,
  is one line of the sync user's ``~/.ssh/authorized_keys`` (0600, in a 0700 ``.ssh``):
  appended once, a key already there (whatever its options or comment) is left alone;
  an atomic write with a backup, which ``rollback`` puts back.

The workers' host keys are pinned by the ``sync_script`` step (wizard/steps/sync.py)
from the keys this run verified, never by ssh-keyscan.
"""

from __future__ import annotations

import posixpath
import shlex

from wizard.changes import backup_suffix
from wizard.connectors.base import Transport, Written
from wizard.errors import WizardError, step_failed
from wizard.executor import Outcome, RunContext
from wizard.plan import Step

KEYGEN_FIX = "install openssh-client on the sync source node (apt-get install openssh-client)"


def public_key(t: Transport, key: str) -> tuple[int, str, str]:
    """(exit code, ``type base64`` of the key's public half, stderr) for the private key
    ``key`` read without a passphrase (as cron would)."""
    res = t.run(["ssh-keygen", "-y", "-P", "", "-f", key], timeout=30)
    parts = res.out.split()
    return res.rc, " ".join(parts[:2]) if res.rc == 0 and len(parts) >= 2 else "", res.err


class SshKeyHandler:
    def check(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        key = i["key"]
        if not t.exists(key):
            if i["generate"]:
                return Outcome(False, f"would make an ed25519 key without passphrase at {key}")
            raise step_failed(
                f"the sync key {key} (sync.key) is not on {step.host}",
                fix="put the private key there (mode 0600, no passphrase), or leave sync.key "
                "blank for the wizard to make one",
                host=step.host,
                file=key,
                field="sync.key",
            )
        rc, pub, err = public_key(t, key)
        if rc != 0 or not pub:
            raise step_failed(
                f"the sync key {key} cannot be used without a passphrase: "
                f"{err.strip()[-200:] or f'ssh-keygen exit {rc}'}",
                fix="give sync.key a private key without passphrase and mode 0600 (cron cannot "
                "type one), or leave sync.key blank for the wizard to make one; " + KEYGEN_FIX,
                host=step.host,
                file=key,
                field="sync.key",
            )
        return Outcome(True, f"{key} ({pub.split()[0]})")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        key = i["key"]
        t.mkdir_p(posixpath.dirname(key), mode=0o700)
        cmd = shlex.join(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", i["comment"],
                          "-f", key])  # fmt: skip
        t.run(f"umask 077 && {cmd} </dev/null", timeout=60).check(
            f"ssh-keygen on {step.host}", host=step.host, fix=KEYGEN_FIX
        )
        for path in (key, key + ".pub"):  # journaled as made by this session (rollback)
            ctx.changed(step.host, Written(path, False, None), t.read(path))
        return Outcome(True, f"made {key}")


def _home_of(t: Transport, user: str, login_user: str, host: str) -> str:
    if user == login_user:
        res = t.run('printf %s "$HOME"', timeout=30)
        found = res.out.strip()
    else:
        res = t.run(["getent", "passwd", user], timeout=30)
        fields = res.out.strip().split(":")
        found = fields[5] if len(fields) > 5 else ""
    if res.rc != 0 or not found.startswith("/"):
        raise step_failed(
            f"the sync user {user} has no home folder on {host}",
            fix=f"create the user {user} there, or answer sync.user with a user that exists",
            host=host,
            field="sync.user",
        )
    return found


def _has(lines: list[str], pub: str) -> bool:
    """Whether an authorized_keys line holds the key ``pub`` (``type base64``), with or
    without options before it or a comment after it."""
    blob = pub.split()[1]
    return any(blob in line.split() for line in lines if not line.lstrip().startswith("#"))


class AuthorizedKeyHandler:
    def _state(self, step: Step, ctx: RunContext) -> tuple[str, str, bytes | None]:
        """(the public key, the authorized_keys path, its bytes or None)."""
        i = step.inputs
        rc, pub, err = public_key(ctx.transport(i["key_host"]), i["key"])
        if rc != 0 or not pub:
            if ctx.check_mode:
                return "", "", None  # the ssh_key step would make it
            raise step_failed(
                f"cannot read the sync key {i['key']} on {i['key_host']}: {err.strip()[-200:]}",
                fix="run the whole plan (its ssh_key step makes the key first)",
                host=i["key_host"],
            )
        t = ctx.transport(step.host)
        home = _home_of(t, i["user"], i["login_user"], step.host)
        path = posixpath.join(home, ".ssh", "authorized_keys")
        st = t.stat(path)
        return pub, path, t.read(path, st.size) if st.exists else None

    def check(self, step: Step, ctx: RunContext) -> Outcome:
        pub, path, data = self._state(step, ctx)
        if not pub:
            return Outcome(False, f"would authorise the key {step.inputs['key']} once it is made")
        if data is not None and _has(data.decode(errors="replace").splitlines(), pub):
            return Outcome(True, f"{path} holds the sync key")
        return Outcome(False, f"would add the sync key of {step.inputs['key_host']} to {path}")

    def apply(self, step: Step, ctx: RunContext) -> Outcome:
        i, t = step.inputs, ctx.transport(step.host)
        pub, path, data = self._state(step, ctx)
        if data is not None and _has(data.decode(errors="replace").splitlines(), pub):
            return Outcome(True, "already there")
        old = data or b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        line = f"{pub} {i['comment']}\n".encode()
        ssh_dir = posixpath.dirname(path)
        try:
            if i["user"] == i["login_user"]:
                if not t.stat(ssh_dir).is_dir:
                    t.mkdir_p(ssh_dir, mode=0o700)
            else:
                q = shlex.quote
                t.run(f"test -d {q(ssh_dir)} || install -d -m 700 -o {q(i['user'])} "
                      f"-g \"$(id -gn {q(i['user'])})\" {q(ssh_dir)}", sudo=True,
                      timeout=30).check(f"making {ssh_dir}", host=step.host)  # fmt: skip
            t.write_atomic(
                path, old + line, mode=0o600, backup_suffix=backup_suffix(ctx.session_id)
            )
        except WizardError as exc:
            if i["user"] == i["login_user"]:
                raise
            raise step_failed(
                f"cannot write {path} of the sync user {i['user']} as {i['login_user']}: "
                f"{exc.what}",
                fix=f"set nodes[].ssh.sudo for {step.host} (the file belongs to {i['user']}), "
                "or leave sync.user blank (the node's SSH user)",
                host=step.host,
                file=path,
            ) from exc
        return Outcome(True, f"added the sync key to {path}")


HANDLERS = {"ssh_key": SshKeyHandler(), "authorized_key": AuthorizedKeyHandler()}
