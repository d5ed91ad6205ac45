"""``lab.json``: what a lab is made of (shape in docs/architecture.md), read and written.

The file is written while the lab is being built (``complete: false``) so that
``lab down`` can always stop what has been started, even after a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wizard.errors import bad_input

LAB_JSON = "lab.json"

# field -> type, for the parts of a complete lab.json that tools rely on
_DB_FIELDS: dict[str, type | tuple[type, ...]] = {
    "flavour": str,
    "version": str,
    "host": str,
    "port": int,
    "admin_user": str,
    "password_file": str,
    "pid": int,
}
_HOST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "address": str,
    "ssh_port": int,
    "user": str,
    "key": str,
    "host_key": str,
    "host_key_fingerprint": str,
    "home": str,
    "sshd_pid": int,
}
_NGINX_FIELDS: dict[str, type | tuple[type, ...]] = {
    "host": str,
    "address": str,
    "https_port": int,
    "http_port": int,
    "command": str,
    "conf_dir": str,
    "pid": int,
}


def path_of(lab_dir: Path) -> Path:
    return lab_dir / LAB_JSON


def write(lab_dir: Path, lab: dict[str, Any]) -> None:
    """Write atomically (no secrets are in it: passwords live in 0600 files)."""
    target = path_of(lab_dir)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(lab, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def read_raw(lab_dir: Path) -> dict[str, Any] | None:
    """The lab.json mapping, complete or not; None when there is none."""
    target = path_of(lab_dir)
    try:
        text = target.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_input(
            f"lab.json is not valid JSON: {exc.msg}",
            fix="run 'carbon-wizard lab down' and 'lab up' again",
            file=str(target),
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    if not isinstance(data, dict):
        raise bad_input("lab.json does not hold an object", file=str(target))
    return data


def load(lab_dir: Path) -> dict[str, Any]:
    """The lab of ``lab_dir``, validated; a clear error when there is none or it is broken."""
    target = path_of(lab_dir)
    data = read_raw(lab_dir)
    if data is None:
        raise bad_input(
            f"no lab in {lab_dir}",
            fix="start one with 'carbon-wizard lab up' (or pass --dir / CARBON_WIZARD_LAB_DIR)",
            file=str(target),
        )
    validate(data, str(target))
    return data


def validate(data: dict[str, Any], where: str = LAB_JSON) -> None:
    if data.get("complete") is False:
        raise bad_input(
            "this lab was not completely built (its 'lab up' failed or was interrupted)",
            fix="run 'carbon-wizard lab down' then 'carbon-wizard lab up'",
            file=where,
        )
    _fields(data, {"dir": str, "driver_jar": str, "java_home": str, "answers": dict}, "", where)
    _fields(_obj(data, "db", where), _DB_FIELDS, "db.", where)
    hosts = data.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise bad_input("lab.json has no hosts", file=where, field="hosts")
    for i, host in enumerate(hosts):
        if not isinstance(host, dict):
            raise bad_input("a host is not an object", file=where, field=f"hosts[{i}]")
        _fields(host, _HOST_FIELDS, f"hosts[{i}].", where)
    _fields(_obj(data, "nginx", where), _NGINX_FIELDS, "nginx.", where)


def _obj(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise bad_input(f"lab.json has no '{key}' object", file=where, field=key)
    return value


def _fields(
    obj: dict[str, Any], spec: dict[str, type | tuple[type, ...]], prefix: str, where: str
) -> None:
    for key, typ in spec.items():
        value = obj.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, typ):
            raise bad_input(
                f"lab.json field is missing or not a {getattr(typ, '__name__', typ)}",
                fix="run 'carbon-wizard lab down' then 'carbon-wizard lab up'",
                file=where,
                field=prefix + key,
            )
