"""``rollback`` on a lab of its own: after a full apply (nodes started), the nodes are
stopped, every file the setup changed is put back byte for byte (mode too), files it
created are gone, ``--drop-databases`` drops the wizard's databases and no other, the
rollback is journaled, and ``apply`` works again. A file changed since the wizard wrote
it stops a headless rollback with its (masked) diff, nothing changed."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.connectors.mysql import MySQL
from wizard.lab.answers import answers_dict, lab_nodes
from wizard.secrets import Secret

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"
LAB_HOSTS = 1
RUNTIME = ("repository/logs/", "repository/database/", "tmp/", "wso2carbon.pid")


@pytest.fixture(scope="module")
def rblab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


class Rig:
    def __init__(self, lab: dict[str, Any], tag: str, **answers: Any) -> None:
        from wizard.lab.pack import install_pack

        self.lab = lab
        node = lab_nodes(lab, PATTERN)[0]
        pw = pwd.getpwnam(node["ssh"]["user"])
        base = Path(node["home"]).parent / f"rollback-{tag}"
        base.mkdir(mode=0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        self.home = install_pack(
            base / "wso2am-2.6.0",
            keystores=Path(lab["dir"]) / "files" / "keystores",
            boot_delay=0.3,
            owner=(pw.pw_uid, pw.pw_gid),
        )
        self.prefix = f"rb{tag}_"
        data = answers_dict(lab, PATTERN, db_prefix=self.prefix)
        data["product"]["home"] = str(self.home)
        data["nodes"][0]["home"] = str(self.home)
        data.update(answers)
        self.hosts_file = Path(data["nodes"][0]["hosts_file"])
        self.answers = base.parent / f"rollback-answers-{tag}.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.sessions = base.parent / f"rollback-sessions-{tag}"
        self.databases = [d["name"] for d in data["db"]["databases"].values()]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "wizard", "--session-dir", str(self.sessions), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
        )

    def files(self) -> dict[str, tuple[str, int]]:
        """path -> (sha256, mode) of every file of the home (runtime files aside) and of
        the node's hosts file."""
        out = {}
        for p in [*self.home.rglob("*"), self.hosts_file]:
            rel = str(p.relative_to(self.home)) if p != self.hosts_file else str(p)
            runtime = rel.startswith(RUNTIME) or "__pycache__" in rel  # the fake's bytecode
            if p.is_file() and not p.is_symlink() and not runtime:
                out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode & 0o7777)
        return out

    def db(self) -> MySQL:
        db = self.lab["db"]
        password = Path(db["password_file"]).read_text().strip()
        return MySQL(db["host"], db["port"], db["admin_user"], Secret(password), tls="off")

    def existing_dbs(self) -> set[str]:
        with self.db() as conn:
            return {str(r[0]) for r in conn.query("SHOW DATABASES")} & set(self.databases)

    def running(self) -> bool:
        pid = self.home / "wso2carbon.pid"
        if not pid.exists():
            return False
        try:
            os.kill(int(pid.read_text().strip()), 0)
        except (OSError, ValueError):
            return False
        return True


def test_rollback_puts_back_every_file_stops_nodes_and_drops_only_its_databases(
    rblab: dict[str, Any],
) -> None:
    rig = Rig(rblab, "full")
    before = rig.files()
    with rig.db() as conn:  # a database of the same prefix the wizard did not create
        conn.execute(f"CREATE DATABASE `{rig.prefix}keepme`")
    first = rig.run("apply", "--answers", str(rig.answers), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert rig.running() and rig.files() != before
    assert rig.existing_dbs() == set(rig.databases)

    back = rig.run("rollback", "--yes", "--drop-databases")
    assert back.returncode == 0, back.stdout + back.stderr
    assert not rig.running()
    after = rig.files()
    assert after == before, {k: (before.get(k), after.get(k)) for k in set(before) ^ set(after)
                             or {k for k in before if before[k] != after.get(k)}}  # fmt: skip
    assert rig.existing_dbs() == set()
    with rig.db() as conn:
        assert conn.database_info(f"{rig.prefix}keepme") is not None  # never others
        conn.execute(f"DROP DATABASE `{rig.prefix}keepme`")
    assert "rollback done" in back.stdout

    again = rig.run("rollback", "--yes")  # nothing left to undo
    assert again.returncode == 0 and "nothing to roll back" in again.stdout, again.stdout

    redo = rig.run("apply", "--answers", str(rig.answers), "--yes")
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert rig.running()
    rig.run("rollback", "--yes", "--drop-databases")


def test_after_a_rerun_that_changed_nothing_rollback_undoes_the_setup(
    rblab: dict[str, Any],
) -> None:
    """Every apply is a session; a re-run changes nothing, so ``rollback`` (no id) rolls
    back the latest session of the same setup that changed something, and says so."""
    rig = Rig(rblab, "rerun")
    before = rig.files()
    first = rig.run("apply", "--answers", str(rig.answers), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    rerun = rig.run("apply", "--answers", str(rig.answers), "--yes")
    assert rerun.returncode == 0 and " 0 changed" in rerun.stdout, rerun.stdout + rerun.stderr
    assert rig.running()

    back = rig.run("rollback", "--yes", "--drop-databases")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "changed nothing (a re-run); rolling back" in back.stdout, back.stdout
    assert not rig.running()
    assert rig.files() == before
    assert rig.existing_dbs() == set()


def test_a_file_changed_since_the_wizard_wrote_it_stops_a_headless_rollback(
    rblab: dict[str, Any],
) -> None:
    rig = Rig(rblab, "drift")
    first = rig.run("apply", "--answers", str(rig.answers), "--yes", "--skip", "nodes")
    assert first.returncode == 0, first.stdout + first.stderr
    path = rig.home / "repository/conf/datasources/master-datasources.xml"
    path.write_text(path.read_text().replace(f"{rig.prefix}apimgtdb", "handmade_db", 1))
    applied = rig.files()

    res = rig.run("rollback", "--yes")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "changed since the wizard wrote it" in res.stdout + res.stderr
    assert "handmade_db" in res.stdout  # the diff is shown
    assert rig.files() == applied  # nothing rolled back
    app_password = Path(rig.lab["dir"], "secrets", "db-app.password").read_text().strip()
    assert app_password not in res.stdout + res.stderr  # the diff is masked
    rig.run("rollback", "--yes", "--drop-databases")  # (left for the next test clean)


def test_a_new_keystore_and_trust_store_are_rolled_back_too(rblab: dict[str, Any]) -> None:
    """keystore.replace: the keystore made by keytool, its PEM, the trust store keytool
    changed in place; all back as they were."""
    rig = Rig(rblab, "ks")
    data = yaml.safe_load(rig.answers.read_text())
    data["keystore"] = {**data["keystore"], "replace": True}
    rig.answers.write_text(yaml.safe_dump(data, sort_keys=False))
    before = rig.files()
    first = rig.run("apply", "--answers", str(rig.answers), "--yes", "--skip", "nodes")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert rig.files() != before
    import json as _j

    jr = next(rig.sessions.glob("*/journal.jsonl"))
    Path("/tmp/jdebug.txt").write_text(
        "\n".join(
            str((e["step"], e["event"], e.get("extra")))
            for e in map(_j.loads, jr.read_text().splitlines())
            if e.get("extra")
        )
    )
    back = rig.run("rollback", "--yes", "--drop-databases")
    Path("/tmp/jdebug2.txt").write_text(back.stdout)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr
    assert rig.files() == before
