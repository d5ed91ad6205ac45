"""The input model of every step kind: what the planner puts in ``Step.inputs`` and the
handlers read. A handler takes its step's inputs as its kind's TypedDict
(``inputs(step, StartInputs)``), so a misspelt key is a type error; ``problems(step)``
checks a step's inputs against its model at run time (a plan made by the planner always
passes: tests/unit/test_stepinputs.py; a saved plan of another version may not).

Values that hold a secret are references (``{{secret:db.password}}``), never the secret.
"""

from __future__ import annotations

import types
import typing
from typing import Any, NotRequired, TypedDict, TypeVar, Union, cast

from wizard.plan import Step


class ServerInputs(TypedDict):
    host: str
    port: int
    tls: NotRequired[str | None]
    ca: NotRequired[str | None]


class DatabaseInputs(TypedDict):
    server: dict[str, Any]  # ServerInputs
    admin_user: str
    admin_password: str  # a secret reference
    name: str
    charset: str
    user: str
    password: str  # a secret reference
    user_hosts: list[str]


class DbscriptInputs(TypedDict):
    database: str
    script: str
    source_node: str
    variant: str
    markers: list[str]
    server: dict[str, Any]
    admin_user: str
    admin_password: str


class DriverInputs(TypedDict):
    source: str
    dest_dir: str


class FileEditInputs(TypedDict):
    path: str
    file: str
    edits: list[dict[str, Any]]  # wizard.edits.model.Edit.from_mapping
    create_from: NotRequired[str]


class HostsEntryInputs(TypedDict):
    path: str
    sudo: bool
    edits: list[dict[str, Any]]


class CertificateInputs(TypedDict):
    kind: str  # "lb_cert" (the LB's TLS pair) or "keystore" (a node key store and its PEM)
    cn: str
    days: int
    key_bits: int
    # lb_cert
    san: NotRequired[list[str]]
    cert: NotRequired[str]
    key: NotRequired[str]
    issuer: NotRequired[str]  # "self" or "ca" (the wizard's CA)
    source: NotRequired[str]  # "provided": the admin's own pair
    provided_cert: NotRequired[str]
    provided_key: NotRequired[str]
    # keystore
    keystore: NotRequired[str]
    alias: NotRequired[str]
    password: NotRequired[str]  # a secret reference
    key_password: NotRequired[str]
    java_home: NotRequired[str | None]
    pem: NotRequired[str]


class TruststoreInputs(TypedDict):
    truststore: str
    password: str
    alias: str
    cert_host: str
    cert_path: str
    java_home: str | None
    replace: bool
    copy_keystore: NotRequired[dict[str, str]]  # from_host, from_path, to_path


class LoadBalancerInputs(TypedDict):
    template: str
    conf_name: str
    conf_dir: str | None
    command: str
    server_name: str
    server_names: dict[str, str]
    https_port: int
    http_port: int
    ssl_dir: str
    cert: str
    key: str
    upstreams: list[dict[str, Any]]
    data: dict[str, Any]
    fail_timeout: int
    redirect_http: bool
    listen_address: NotRequired[str]


class PreflightInputs(TypedDict):
    address: str
    ssh: dict[str, Any]
    home: str
    java_home: str | None
    tcp: list[str]


class ProfileInputs(TypedDict):
    home: str
    profile: str
    script: str
    marker: str


class PasswordFileInputs(TypedDict):
    path: str
    lines: list[str]  # secret references
    timeout: int


class StartInputs(TypedDict):
    action: str
    home: str
    java_home: str | None
    command: str
    args: list[str]
    jvm_opts: list[str]
    password_file: NotRequired[dict[str, Any]]  # PasswordFileInputs (Secure Vault)


class WaitInputs(TypedDict):
    timeout: int
    # a node: its log, ports and cluster
    address: NotRequired[str]
    ports: NotRequired[dict[str, int]]
    log: NotRequired[str]
    marker: NotRequired[str]
    console_url: NotRequired[str | None]
    members: NotRequired[int | None]
    cluster_peers: NotRequired[list[dict[str, Any]]]
    settle: NotRequired[int]  # seconds after ready before the next rolling restart
    # a probe: a URL answering below ok_below
    url: NotRequired[str]
    ok_below: NotRequired[int]
    verify_tls: NotRequired[bool]
    resolve: NotRequired[dict[str, str]]


class SymlinkInputs(TypedDict):
    path: str
    target: str
    move_existing: bool


class SyncScriptInputs(TypedDict):
    dir: str
    script: str
    workers_file: str
    workers: list[str]
    worker_ports: list[int]
    source: str
    key: str | None
    exclude: list[str]
    log: str
    lock: str
    cron: str


class VaultInputs(TypedDict):
    home: str
    cipher_text: str
    secret_conf: str
    store_password: str
    key_password: str
    secrets: list[dict[str, str]]


class PackInputs(TypedDict):
    source: str  # the zip on the wizard's machine (product.pack)
    home: str
    products: list[str]  # what carbon.xml's "<Name> <Version>" may say
    marker: str
    manifest: str


class SshKeyInputs(TypedDict):
    key: str  # the private key on the sync source
    generate: bool  # made by the wizard when missing (sync.key not answered)
    comment: str


class AuthorizedKeyInputs(TypedDict):
    user: str  # the sync user on the worker
    login_user: str  # the worker's SSH user
    key_host: str  # the sync source, which holds the key
    key: str
    comment: str


# rollback (wizard/undo.py)
class RemoveHomeInputs(TypedDict):
    path: str
    marker: str
    manifest: str
    session: str
    ignore: list[str]  # relative paths (a trailing / : a folder) the drift check leaves out


class StopNodeInputs(TypedDict):
    home: str
    command: str
    java_home: str | None


class RestoreFileInputs(TypedDict):
    path: str
    existed: bool
    backup: str | None
    written_sha256: str


class RestoreLinkInputs(TypedDict):
    path: str
    backup: str


class RemoveCronInputs(TypedDict):
    dir: str


class ReloadLbInputs(TypedDict):
    command: str


class DropDatabaseInputs(TypedDict):
    server: dict[str, Any]
    admin_user: str
    admin_password: str
    name: str


MODELS: dict[str, type] = {
    "database": DatabaseInputs,
    "dbscript": DbscriptInputs,
    "driver": DriverInputs,
    "file_edit": FileEditInputs,
    "hosts_entry": HostsEntryInputs,
    "certificate": CertificateInputs,
    "truststore": TruststoreInputs,
    "load_balancer": LoadBalancerInputs,
    "preflight": PreflightInputs,
    "profile": ProfileInputs,
    "start": StartInputs,
    "wait": WaitInputs,
    "symlink": SymlinkInputs,
    "sync_script": SyncScriptInputs,
    "vault": VaultInputs,
    "pack": PackInputs,
    "ssh_key": SshKeyInputs,
    "authorized_key": AuthorizedKeyInputs,
    "remove_home": RemoveHomeInputs,
    "stop_node": StopNodeInputs,
    "restore_file": RestoreFileInputs,
    "restore_link": RestoreLinkInputs,
    "remove_cron": RemoveCronInputs,
    "reload_lb": ReloadLbInputs,
    "drop_database": DropDatabaseInputs,
}

T = TypeVar("T")


def inputs(step: Step, model: type[T]) -> T:
    """``step.inputs`` as its kind's model (a view for the type checker, no copy)."""
    return cast(T, step.inputs)


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is not None:
        return isinstance(value, origin)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def problems(step: Step) -> list[str]:
    """What is wrong with ``step.inputs`` for its kind (missing, unknown, mistyped keys)."""
    model = MODELS.get(step.kind)
    if model is None:
        return [f"{step.id}: no input model for step kind {step.kind!r}"]
    hints = typing.get_type_hints(model, include_extras=True)
    # (NotRequired read from the hints: the class's __required_keys__ cannot see it
    # through postponed annotations)
    required = {k for k, h in hints.items() if typing.get_origin(h) is not NotRequired}
    out = [f"{step.id}: missing input {k!r}" for k in sorted(required - set(step.inputs))]
    for key, value in step.inputs.items():
        hint = hints.get(key)
        if hint is None:
            out.append(f"{step.id}: unknown input {key!r}")
            continue
        if typing.get_origin(hint) is NotRequired:
            hint = typing.get_args(hint)[0]
        if not _matches(value, hint):
            out.append(f"{step.id}: input {key!r} is {type(value).__name__}, not {hint}")
    return out
