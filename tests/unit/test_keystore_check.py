"""The node key store's check makes a new key store only when keytool says the password
is wrong: any other keytool failure (its JVM not starting on a loaded host, a timeout)
stops the step, never replaces the node's key store."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.connectors.local import LocalTransport
from wizard.errors import WizardError
from wizard.executor import RunContext
from wizard.plan import Step
from wizard.steps.tls import NodeKeystore


def _keytool(tmp_path: Path, out: str) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    tool = home / "bin" / "keytool"
    tool.write_text(f"#!/bin/sh\necho '{out}' >&2\nexit 1\n")
    tool.chmod(0o755)
    return home


def _check(tmp_path: Path, keytool_says: str) -> object:
    store = tmp_path / "wso2carbon.jks"
    store.write_bytes(b"not read by the fake keytool")
    step = Step(
        "node:certificate:keystore",
        "certificate",
        "node",
        "key store",
        {"keystore": str(store), "alias": "wso2carbon", "password": "wso2carbon", "cn": "n"},
    )
    t = LocalTransport()
    ctx = RunContext(transport=lambda host: t, java_home=str(_keytool(tmp_path, keytool_says)))
    return NodeKeystore().check(step, ctx)


def test_a_wrong_password_makes_a_new_key_store(tmp_path: Path) -> None:
    out = _check(tmp_path, "keytool error: java.io.IOException: Keystore password was incorrect")
    assert not out.satisfied and "does not open with the answers' password" in out.message


def test_any_other_keytool_failure_stops_the_step(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match="keytool -exportcert"):
        _check(tmp_path, "Error occurred during initialization of VM")
