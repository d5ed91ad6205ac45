"""The preflight gate on a lab of its own: a wrong DB admin password, a port the node
needs taken by another process and a JDK 2.6.0 does not run on are all reported at once,
before anything changes anywhere (no file, no database); ``--ignore-preflight`` waives
a check; with the problems gone the same answers apply."""

from __future__ import annotations

import hashlib
import os
import pwd
import socket
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


@pytest.fixture(scope="module")
def plab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _tree(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in home.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_problem_at_once_and_nothing_changed(plab: dict[str, Any], tmp_path: Path) -> None:
    from wizard.lab.pack import install_pack

    node = lab_nodes(plab, PATTERN)[0]
    pw = pwd.getpwnam(node["ssh"]["user"])
    base = Path(node["home"]).parent / "preflight"
    base.mkdir(mode=0o755)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    home = install_pack(base / "wso2am-2.6.0", keystores=Path(plab["dir"]) / "files" / "keystores",
                        owner=(pw.pw_uid, pw.pw_gid))  # fmt: skip
    data = answers_dict(plab, PATTERN, db_prefix="pf_")
    data["product"]["home"] = str(home)
    data["nodes"][0]["home"] = str(home)
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-admin-password")
    good_admin = data["db"]["admin_password"]
    data["db"]["admin_password"] = f"file:{wrong}"
    data["product"]["java_home"] = str(Path(plab["java_home"]).parent / "jdk-too-new")
    new_jdk = Path(data["product"]["java_home"], "bin")
    new_jdk.mkdir(parents=True)
    marks = Path(data["product"]["java_home"], "marks")  # the host user's java writes here
    marks.mkdir()
    marks.chmod(0o1777)
    ran = marks / "ran"
    (new_jdk / "java").write_text(f"#!/bin/sh\ntouch {ran}\n"
                                  "echo 'openjdk version \"17.0.15\" 2025-04-15' >&2\n")  # fmt: skip
    (new_jdk / "java").chmod(0o755)
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    before = _tree(home)
    busy = socket.socket()  # another process holds the node's HTTPS port
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((node["address"], 9443 + node["offset"]))
    busy.listen()

    def apply(*extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "wizard", "--session-dir", str(tmp_path / "s"), "apply",
               "--answers", str(answers), "--yes", *extra]  # fmt: skip
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    try:
        res = apply()
        out = res.stdout + res.stderr
        assert res.returncode == 2, out
        assert "preflight: 3 problem(s) (db,java,ports), nothing was changed" in out, out
        assert "[db] db:" in out and "[java] node:" in out and "[ports] node:" in out, out
        assert str(9443 + node["offset"]) in out
        assert _tree(home) == before  # no file changed
        db = plab["db"]
        admin = Path(db["password_file"]).read_text().strip()
        with MySQL(db["host"], db["port"], db["admin_user"], Secret(admin), tls="off") as conn:
            assert conn.database_info("pf_apimgtdb") is None  # no database either
        assert ran.exists()
        ran.unlink()
        res = apply("--only", "files", "--check")  # no step runs Java: no JVM started
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
        assert not ran.exists()

        data["db"]["admin_password"] = good_admin
        data["product"]["java_home"] = plab["java_home"]
        answers.write_text(yaml.safe_dump(data, sort_keys=False))
        res = apply()
        assert res.returncode == 2 and "preflight: 1 problem(s) (ports)" in res.stderr, res.stderr
        res = apply("--ignore-preflight", "ports", "--skip", "nodes")  # waived: files and DBs
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    finally:
        busy.close()
    res = apply()
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    subprocess.run([sys.executable, "-m", "wizard", "--session-dir", str(tmp_path / "s"),
                    "rollback", "--yes", "--drop-databases"], capture_output=True, timeout=600)  # fmt: skip
