"""``product.pack`` on a lab of its own (real sshd, real unzip): a node whose home is
missing gets the lab's product zip uploaded (SFTP), sha256-checked and unpacked there
(manifest and marker written, ``bin/*.sh`` executable), then configured, started and
ready; a second apply changes nothing; ``rollback --yes`` removes the unpacked home and
nothing else. A zip of another version, or a home folder that holds files but no
carbon.xml, is refused by the preflight before anything changes on any host."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.connectors.mysql import MySQL
from wizard.lab.answers import answers_dict, lab_nodes
from wizard.planning.pack import PACK_MANIFEST, PACK_MARKER
from wizard.secrets import Secret
from wizard.steps.httpget import http_get
from wizard.steps.pack import parse_marker

from .clirun import wizard

pytestmark = pytest.mark.lab

PATTERN = "apim-all-in-one"
LAB_HOSTS = 1


@pytest.fixture(scope="module")
def packlab(own_lab: dict[str, Any]) -> dict[str, Any]:
    return own_lab


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.splitlines() if x.startswith('{"ts"') and '"step"' in x]


def _summary(text: str) -> dict[str, int]:
    m = re.search(r"(\d+) changed, (\d+) unchanged, (\d+) failed", text)
    assert m, text
    return dict(zip(("changed", "unchanged", "failed"), map(int, m.groups()), strict=True))


def tree(root: Path) -> dict[str, tuple[str, int, int]]:
    """rel path -> (sha256 or "dir"/"link", mode, uid) of everything under ``root`` (the
    fake's bytecode and what a JVM writes aside)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if "__pycache__" in p.parts:
            continue
        st = p.lstat()
        kind = ("link:" + os.readlink(p) if p.is_symlink() else "dir" if p.is_dir()
                else hashlib.sha256(p.read_bytes()).hexdigest())  # fmt: skip
        out[str(p.relative_to(root))] = (kind, st.st_mode & 0o7777, st.st_uid)
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Rig:
    """A node of the lab's host whose home (``<host dir>/<tag>/wso2am-2.6.0``) is missing;
    its folder exists (owned by the host user) with a file of the admin's in it."""

    def __init__(self, lab: dict[str, Any], tmp: Path, tag: str, pack: str | None = None):
        self.lab = lab
        node = lab_nodes(lab, PATTERN)[0]
        self.host_dir = Path(node["home"]).parent
        pw = pwd.getpwnam(node["ssh"]["user"])
        self.uid = pw.pw_uid
        self.base = self.host_dir / tag
        self.base.mkdir(mode=0o755)
        (self.base / "README.admin").write_text("the admin's notes, next to the home\n")
        for p in (self.base, self.base / "README.admin"):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        self.home = self.base / "wso2am-2.6.0"
        self.pack = Path(pack or lab["packs"]["apim"])
        self.prefix = "pk" + re.sub(r"[^a-z0-9]", "", tag)[:6] + "_"
        data = answers_dict(lab, PATTERN, db_prefix=self.prefix)
        data["product"]["home"] = str(self.home)
        data["product"]["pack"] = str(self.pack)
        data["nodes"][0]["home"] = str(self.home)
        self.node = data["nodes"][0]
        self.databases = [d["name"] for d in data["db"]["databases"].values()]
        self.answers = tmp / "answers.yaml"
        self.answers.write_text(yaml.safe_dump(data, sort_keys=False))
        self.sessions = tmp / "sessions"
        self.clean = False  # the test left nothing to roll back

    def apply(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return wizard(self.sessions, "apply", "--answers", str(self.answers), "--yes",
                    "--start-timeout", "60", *extra)  # fmt: skip

    def existing_dbs(self) -> set[str]:
        db = self.lab["db"]
        password = Path(db["password_file"]).read_text().strip()
        with MySQL(db["host"], db["port"], db["admin_user"], Secret(password), tls="off") as c:
            return {str(r[0]) for r in c.query("SHOW DATABASES")} & set(self.databases)

    def running(self) -> bool:
        pid = self.home / "wso2carbon.pid"
        try:
            return Path(f"/proc/{int(pid.read_text().strip())}").exists()
        except (OSError, ValueError):
            return False


@pytest.fixture
def cleanup() -> Iterator[list[Rig]]:
    """Rigs whose sessions are rolled back (nodes stopped, databases dropped) after the
    test, also when it failed halfway."""
    rigs: list[Rig] = []
    yield rigs
    for rig in (r for r in rigs if not r.clean):
        for session in sorted(rig.sessions.glob("*"), reverse=True):
            wizard(rig.sessions, "rollback", session.name, "--yes", "--drop-databases")


def test_a_missing_home_is_unpacked_started_then_rolled_back(
    packlab: dict[str, Any], tmp_path: Path, cleanup: list[Rig]
) -> None:
    rig = Rig(packlab, tmp_path, "bare")
    cleanup.append(rig)
    before = tree(rig.host_dir)
    assert not rig.home.exists()
    with zipfile.ZipFile(rig.pack) as z:  # what the zip holds, relative to its top folder
        top = z.namelist()[0].split("/")[0]
        zipped = {i.filename.removeprefix(top + "/"): _sha(z.read(i))
                  for i in z.infolist() if not i.is_dir()}  # fmt: skip
    assert top == "wso2am-2.6.0" and "bin/wso2server.sh" in zipped

    check = rig.apply("--check")  # what would change, read-only: the home still missing
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr
    assert f"would upload {rig.pack.name}, check its sha256 and unpack it to {rig.home}" in (
        check.stdout), check.stdout[-4000:]  # fmt: skip
    assert "would run in" in check.stdout and tree(rig.host_dir) == before

    checked = {p.name for p in rig.sessions.iterdir()}
    first = rig.apply("--json")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    events = _events(first.stdout)
    done = {e["step"]: e for e in events if e["state"] != "running"}
    pack = done["node:pack"]
    assert pack["state"] == "changed" and "sha256 ok" in pack["message"], pack
    # the pack step comes first on the node: every other step of the node after it
    order = [e["step"] for e in events if e["state"] == "running" and e["host"] == "node"]
    assert order[0] == "node:pack", order

    # unpacked whole, owned by the SSH user, nothing left aside
    assert rig.home.is_dir() and rig.home.stat().st_uid == rig.uid
    assert sorted(p.name for p in rig.base.iterdir()) == ["README.admin", "wso2am-2.6.0"]
    for script in rig.home.glob("bin/*.sh"):
        assert script.stat().st_mode & 0o111 == 0o111, script
    assert set(zipped) >= {"bin/wso2server.sh", "repository/conf/carbon.xml"}
    # the manifest: every file of the zip once, with the sha256 of its bytes in the zip
    listed = {}
    for line in (rig.home / PACK_MANIFEST).read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed[name.removeprefix("./")] = digest
    assert listed == zipped
    marker = parse_marker((rig.home / PACK_MARKER).read_text())
    (session,) = {p.name for p in rig.sessions.iterdir()} - checked
    assert marker == {"session": session, "pack": rig.pack.name,
                      "sha256": _sha(rig.pack.read_bytes()), "top": top}  # fmt: skip
    # then configured like any home (the datasource points at the answered database),
    # started and ready
    master = (rig.home / "repository/conf/datasources/master-datasources.xml").read_text()
    assert f"{rig.prefix}apimgtdb" in master
    assert rig.running()
    address, port = rig.node["address"], 9443 + rig.node["offset"]
    got = http_get(f"https://{address}:{port}/carbon/", timeout=5)
    assert got is not None and got[0] == 200, got
    assert done["node:wait"]["state"] == "changed"
    assert rig.existing_dbs() == set(rig.databases)

    again = rig.apply()
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr
    counts = _summary(again.stdout)
    assert counts["changed"] == 0 and counts["failed"] == 0, again.stdout[-4000:]

    # an admin's edit in the unpacked home (not a file the wizard wrote): a headless
    # rollback stops, shows it and keeps the home
    server_sh = rig.home / "bin/wso2server.sh"
    stock = server_sh.read_bytes()
    server_sh.write_bytes(stock.replace(b"\n", b"\n# -Xmx4g (admin)\n", 1))
    # (the setup's own session: a re-run is a session of its own, which changed nothing)
    kept = wizard(rig.sessions, "rollback", session, "--yes")
    assert kept.returncode == 1, kept.stdout[-4000:] + kept.stderr
    assert "changed since the wizard wrote it" in kept.stdout + kept.stderr
    assert "bin/wso2server.sh" in kept.stdout and rig.home.is_dir()
    assert rig.running()  # nothing rolled back, the node left as it was
    server_sh.write_bytes(stock)

    back = wizard(rig.sessions, "rollback", session, "--yes", "--drop-databases")
    assert back.returncode == 0, back.stdout[-4000:] + back.stderr
    assert not rig.home.exists() and not rig.running(), back.stdout[-4000:]
    after = tree(rig.host_dir)
    assert after == before, {k: (before.get(k), after.get(k))
                             for k in set(before) | set(after) if before.get(k) != after.get(k)}  # fmt: skip
    assert rig.existing_dbs() == set()
    rig.clean = True
    print(
        f"\npack {rig.pack.name}: {rig.pack.stat().st_size / 1e6:.2f} MB, "
        f"{len(zipped)} files; upload+check+unpack {pack['seconds']:.2f}s on {rig.node['name']}"
    )


def _other_version(src: Path, dest: Path, version: str) -> Path:
    """``src`` rewritten as another version's zip (top folder and carbon.xml)."""
    top = f"wso2am-{version}"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        old = zin.namelist()[0].split("/")[0]
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == f"{old}/repository/conf/carbon.xml":
                new = data.replace(
                    b"<Version>2.6.0</Version>", f"<Version>{version}</Version>".encode()
                )
                assert new != data, "the lab's carbon.xml names no 2.6.0"
                data = new
            info.filename = top + info.filename[len(old) :]
            zout.writestr(info, data)
    return dest


@pytest.mark.parametrize("case", ["other-version", "foreign-folder"])
def test_a_wrong_zip_or_a_folder_without_carbon_is_refused_before_any_change(
    packlab: dict[str, Any], tmp_path: Path, cleanup: list[Rig], case: str
) -> None:
    pack = None
    if case == "other-version":
        pack = str(_other_version(Path(packlab["packs"]["apim"]), tmp_path / "wso2am-2.5.0.zip",
                                  "2.5.0"))  # fmt: skip
    rig = Rig(packlab, tmp_path, case, pack)
    cleanup.append(rig)
    if case == "foreign-folder":  # something else lives at the home's path
        rig.home.mkdir()
        (rig.home / "backup.tar").write_text("not a product\n")
    lab_dir = Path(packlab["dir"])
    before = tree(lab_dir / "hosts")

    res = rig.apply()
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert re.search(r"preflight: 1 problem\(s\) \((version|home)\), nothing was changed", out)
    if case == "other-version":
        # names the node (host), the zip (file), what it holds and the answer to change
        assert f"[version] node: the product pack {rig.pack}" in out, out
        assert f"for the missing home {rig.home}" in out
        assert "holds WSO2 API Manager 2.5.0" in out and "WSO2 API Manager 2.6.0" in out
        assert "fix: give product.pack the zip" in out
    else:
        assert f"[home] node: {rig.home} is there, not empty" in out, out
        assert "nodes[].home" in out
    after = tree(lab_dir / "hosts")  # every host of the lab as it was, NGINX's folder too
    assert after == before, sorted(k for k in set(before) | set(after)
                                   if before.get(k) != after.get(k))  # fmt: skip
    assert rig.existing_dbs() == set()
    rig.clean = True
