"""Opening one verified, authenticated SSH connection, with errors a user can act on."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast

import paramiko

from wizard.connectors.base import HostTarget
from wizard.connectors.hostkeys import HostKeyStore, RefusingPolicy, order_key_types
from wizard.connectors.ssh_handshake import no_delay, take
from wizard.errors import EXIT_STEP_FAILED, Where, WizardError, bad_input

KEEPALIVE_SECONDS = 15


def _auth_kwargs(target: HostTarget) -> dict[str, Any]:
    kw: dict[str, Any] = {"allow_agent": target.use_agent, "look_for_keys": False}
    if target.key_file:
        path = os.path.expanduser(target.key_file)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise bad_input(
                f"cannot read SSH key {path}: {exc.strerror}",
                fix="give the path of the private key (ssh.key) that is authorized on the host",
                host=target.name,
                field="ssh.key",
            ) from exc
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise bad_input(
                f"SSH key {path} is readable by other users (mode {stat.S_IMODE(st.st_mode):o})",
                fix=f"chmod 600 {path}",
                host=target.name,
                field="ssh.key",
            )
        kw["key_filename"] = path
        if target.key_passphrase is not None:
            kw["passphrase"] = target.key_passphrase.reveal()
    if target.password is not None:
        kw["password"] = target.password.reveal()
    if not (target.key_file or target.password is not None or target.use_agent):
        raise bad_input(
            f"no way to log in to {target.endpoint}",
            fix="set ssh.key (a private key file), ssh.agent: true, or ssh.password (a reference)",
            host=target.name,
            field="ssh",
        )
    return kw


def _auth_fix(target: HostTarget) -> tuple[str, str]:
    if target.key_file:
        what = f"key {target.key_file} not accepted by {target.endpoint}"
        fix = (
            f"check that its public key is in ~{target.user}/.ssh/authorized_keys on "
            f"{target.address} (that file 0600, ~/.ssh 0700, owned by {target.user}), "
            "and the user name"
        )
    elif target.password is not None:
        ref = target.password.ref or "the answers"
        what = f"password (from {ref}) not accepted by {target.endpoint}"
        fix = "check the password and that sshd allows PasswordAuthentication for this user"
    else:
        what = f"no key offered by the SSH agent was accepted by {target.endpoint}"
        fix = "check SSH_AUTH_SOCK and ssh-add -l, and authorized_keys on the host"
    return what, fix


def connect_client(target: HostTarget, store: HostKeyStore) -> paramiko.SSHClient:
    """Connect, verify the host key against ``store`` (never adding one), authenticate."""
    kw = _auth_kwargs(target)
    preferred = store.preferred_types(target.address, target.port, target.host_key)

    def transport_factory(
        sock: Any,
        /,
        *,
        disabled_algorithms: Mapping[str, Iterable[str]] | None = None,
        **gss: bool,
    ) -> paramiko.Transport:
        # paramiko < 5 also hands over gss_kex / gss_deleg_creds; 5.x has no GSS-API
        no_delay(sock)
        t = cast(Any, paramiko.Transport)(sock, disabled_algorithms=disabled_algorithms, **gss)
        opts = t.get_security_options()
        opts.key_types = order_key_types(list(opts.key_types), preferred)
        return t

    timeout = target.connect_timeout

    def connect(client: paramiko.SSHClient, parked: paramiko.Transport | None) -> None:
        client.set_missing_host_key_policy(
            RefusingPolicy(store, name=target.name, pin=target.host_key)
        )
        if parked is not None:  # the scan's connection: its key is checked again here
            kw["sock"] = parked.sock
        client.connect(
            target.address,
            port=target.port,
            username=target.user or None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            transport_factory=transport_factory if parked is None else lambda *a, **k: parked,
            **kw,
        )

    client = paramiko.SSHClient()
    where = Where(host=target.name)
    started = time.monotonic()
    try:
        parked = take(target.address, target.port)
        if parked is not None:
            try:
                connect(client, parked)
            except (EOFError, OSError, paramiko.SSHException) as exc:
                if isinstance(exc, paramiko.AuthenticationException):
                    raise
                client.close()  # the parked connection went away: a fresh one
                kw.pop("sock", None)
                client = paramiko.SSHClient()
                connect(client, None)
        else:
            connect(client, None)
    except WizardError:
        client.close()
        raise
    except paramiko.PasswordRequiredException as exc:
        client.close()
        raise bad_input(
            f"SSH key {target.key_file} is encrypted and no passphrase was given",
            fix="set ssh.key_passphrase (a reference such as env:SSH_KEY_PASSPHRASE) or use the agent",
            host=target.name,
            field="ssh.key_passphrase",
        ) from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        what, fix = _auth_fix(target)
        raise WizardError(what, where, fix, EXIT_STEP_FAILED) from exc
    except TimeoutError as exc:
        client.close()
        raise WizardError(
            f"timed out after {timeout:g}s connecting to {target.endpoint}",
            where,
            "check that the host is up, the address and port are right, and no firewall drops "
            "the connection",
            EXIT_STEP_FAILED,
        ) from exc
    except paramiko.SSHException as exc:
        client.close()
        if "authentication methods" in str(exc):  # e.g. an agent holding no keys
            what, fix = _auth_fix(target)
            raise WizardError(what, where, fix, EXIT_STEP_FAILED) from exc
        if "banner" in str(exc) or "No existing session" in str(exc):  # no SSH greeting
            if time.monotonic() - started >= 0.9 * timeout:
                what = f"timed out after {timeout:g}s waiting for the SSH greeting of {target.endpoint}"
            else:
                what = f"{target.endpoint} closed the connection before the SSH greeting"
            raise WizardError(
                what,
                where,
                "check that sshd (not another service) listens on that port and is not "
                "overloaded (MaxStartups)",
                EXIT_STEP_FAILED,
            ) from exc
        raise WizardError(
            f"SSH handshake with {target.endpoint} failed: {exc}",
            where,
            "check that an SSH server (not another service) listens on that port",
            EXIT_STEP_FAILED,
        ) from exc
    except (OSError, EOFError) as exc:
        client.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise WizardError(
            f"cannot reach {target.endpoint}: {reason}",
            where,
            "check that the host is up and sshd listens on that address and port",
            EXIT_STEP_FAILED,
        ) from exc
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(KEEPALIVE_SECONDS)
        no_delay(transport.sock)  # set at connect already; a parked one from elsewhere too
    return client
