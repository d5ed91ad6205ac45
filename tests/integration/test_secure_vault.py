"""Secure Vault on the lab (answers ``product.secure_vault: true``), on a lab of its own:
an all-in-one setup with a new key store reaches a ready node whose fake decrypts its
datasource, key store and admin passwords (the datasources connect to MariaDB with the
decrypted password); no lab secret is left in plain text in any file under the home but
in the files the plan's note names (Carbon 2.6.0 reads those without Secure Vault), the
start's password-tmp is gone; a second apply changes nothing. On the stock key store,
``rollback`` puts back every file byte for byte, removes what the setup created, and
``apply`` works again.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard import securevault as sv
from wizard.lab.answers import answers_dict, lab_nodes

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"
LAB_HOSTS = 1
RUNTIME = ("repository/logs/", "repository/database/", "tmp/", "wso2carbon.pid")


@pytest.fixture(scope="module")
def vlab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


class Rig:
    def __init__(self, lab: dict[str, Any], tag: str, new_keystore: bool) -> None:
        from wizard.lab.pack import STOCK_PASSWORD, install_pack

        node = lab_nodes(lab, PATTERN)[0]
        pw = pwd.getpwnam(node["ssh"]["user"])
        base = Path(node["home"]).parent / f"vault-{tag}"
        base.mkdir(mode=0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        self.home = install_pack(
            base / "wso2am-2.6.0",
            keystores=Path(lab["dir"]) / "files" / "keystores",
            boot_delay=0.3,
            owner=(pw.pw_uid, pw.pw_gid),
        )
        data = answers_dict(lab, PATTERN, db_prefix=f"sv{tag}_")
        data["product"]["home"] = str(self.home)
        data["product"]["secure_vault"] = True
        data["nodes"][0]["home"] = str(self.home)
        if new_keystore:  # a new key store, with the lab's random password
            data["keystore"]["replace"] = True
        else:  # the pack's own, with its public stock password
            stock = base.parent / f"vault-{tag}-keystore.password"
            fd = os.open(stock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, STOCK_PASSWORD.encode())
            os.close(fd)
            data["keystore"]["password"] = f"file:{stock}"
        self.hosts_file = Path(data["nodes"][0]["hosts_file"])
        self.answers = base.parent / f"vault-{tag}-answers.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.sessions = base.parent / f"vault-{tag}-sessions"
        secrets = Path(lab["dir"]) / "secrets"
        self.secrets = {
            name: (secrets / f"{name}.password").read_text().strip()
            for name in ("db-app", "carbon-admin", "keystore")
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "wizard", "--session-dir", str(self.sessions), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
        )

    def files(self) -> dict[str, tuple[str, int]]:
        out = {}
        for p in [*self.home.rglob("*"), self.hosts_file]:
            rel = str(p.relative_to(self.home)) if p != self.hosts_file else str(p)
            runtime = rel.startswith(RUNTIME) or "__pycache__" in rel
            if p.is_file() and not p.is_symlink() and not runtime:
                out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode & 0o7777)
        return out

    def stop(self) -> None:
        """Stop the node if it runs (a failed test must not hold the next one's ports)."""
        try:
            os.kill(int((self.home / "wso2carbon.pid").read_text().strip()), 15)
        except (OSError, ValueError):
            pass

    def running(self) -> bool:
        try:
            os.kill(int((self.home / "wso2carbon.pid").read_text().strip()), 0)
        except (OSError, ValueError):
            return False
        return True

    def holding(self, secret: str) -> set[str]:
        """Every file under the home (logs, backups, the fake's own files) holding it."""
        return {
            str(p.relative_to(self.home))
            for p in self.home.rglob("*")
            if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes()
        }


def _session(stdout: str) -> str:
    """The session id an apply names in its summary."""
    return re.findall(r"\(session ([0-9a-f-]+)\)", stdout)[-1]


def _states(stdout: str) -> dict[str, str]:
    states: dict[str, str] = {}
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "step" in event and "state" in event:
            states[str(event["step"])] = str(event["state"])
    return states


@pytest.fixture
def rigs() -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.stop()


def test_secure_vault_nodes_start_and_keep_no_plain_secret(
    vlab: dict[str, Any], rigs: list[Rig]
) -> None:
    rig = Rig(vlab, "new", new_keystore=True)
    rigs.append(rig)

    plan = rig.run("plan", "--answers", str(rig.answers), "--offline", "--json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    steps = {s["id"]: s for s in json.loads(plan.stdout)["steps"]}
    assert steps["node:vault"]["inputs"]["secrets"]
    assert "node:vault" in steps["node:start"]["depends_on"]
    notes = json.loads(plan.stdout)["notes"]["node"]
    still = next(n for n in notes if "plain text" in n)  # what 2.6.0 reads without aliases

    first = rig.run("apply", "--answers", str(rig.answers), "--yes", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    states = _states(first.stdout)
    assert states["node:vault"] == "changed" and states["node:wait"] == "changed", states

    # ready, and the fake really decrypted: its datasources reached MariaDB as cwapp
    log = (rig.home / "repository/logs/wso2carbon.log").read_text()
    assert "WSO2 Carbon started in" in log and "Datasource WSO2AM_DB connected to" in log
    assert not (rig.home / "password-tmp").exists()
    conf = sv.read_properties((rig.home / sv.SECRET_CONF).read_text())
    assert conf["keystore.identity.location"].endswith(
        "repository/resources/security/wso2carbon.jks"
    )
    text = sv.read_properties((rig.home / sv.CIPHER_TEXT).read_text())
    assert "Datasources.WSO2AM_DB.Configuration.Password" in text
    assert not [k for k, v in text.items() if sv.plain_text(v) is not None]

    # no lab secret in plain text under the home, but in the files the note names
    assert rig.holding(rig.secrets["db-app"]) == set()
    assert rig.holding(rig.secrets["carbon-admin"]) == set()
    keystore_files = rig.holding(rig.secrets["keystore"])
    assert keystore_files and all(Path(f).name in still for f in keystore_files), (
        keystore_files,
        still,
    )
    for name in ("carbon.xml", "user-mgt.xml", "axis2.xml", "catalina-server.xml"):
        assert not [f for f in keystore_files if f.endswith(name)]
    for secret in rig.secrets.values():
        assert secret not in first.stdout + first.stderr

    again = rig.run("apply", "--answers", str(rig.answers), "--yes", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    changed = {k: v for k, v in _states(again.stdout).items() if v != "unchanged"}
    assert changed == {}, changed


def test_a_vaulted_setup_rolls_back_to_the_stock_files(
    vlab: dict[str, Any], rigs: list[Rig]
) -> None:
    rig = Rig(vlab, "rb", new_keystore=False)
    rigs.append(rig)
    stock = rig.files()
    first = rig.run("apply", "--answers", str(rig.answers), "--yes", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _states(first.stdout)["node:wait"] == "changed"
    assert rig.holding(rig.secrets["db-app"]) == rig.holding(rig.secrets["carbon-admin"]) == set()
    assert rig.running()

    back = rig.run("rollback", _session(first.stdout), "--yes", "--drop-databases")
    assert back.returncode == 0, back.stdout + back.stderr
    assert not rig.running()
    after = rig.files()
    assert after == stock, sorted(
        k for k in set(stock) | set(after) if stock.get(k) != after.get(k)
    )

    redo = rig.run("apply", "--answers", str(rig.answers), "--yes")
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert rig.running() and not (rig.home / "password-tmp").exists()
    again = re.findall(r"\(session ([0-9a-f-]+)\)", redo.stdout)[-1]
    rig.run("rollback", again, "--yes", "--drop-databases")
