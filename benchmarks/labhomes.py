"""Lab product homes for the file-phase benchmark: a pristine copy per host, restored
before every "first push" so that each run starts from the same stock files.

The pristine copy is a fresh lab pack with the stock 2.6.0 conf files laid over it
(``install_pack(pack_from=...)``, what the lab does with a real pack), so the benchmark
edits full-size WSO2 files. Open Banking nodes get the lab's ``ob`` pack flavour; with a lab
pack that has no such flavour, the benchmark adds a small
``repository/conf/finance/open-banking.xml`` (the element the catalog edits, as an OB 1.4
pack has it) so that ob-apim-cluster's file phase can run.
"""

from __future__ import annotations

import inspect
import os
import posixpath
import shutil
import subprocess
from pathlib import Path
from typing import Any

from wizard.lab.pack import _chown_tree, install_pack

REPO = Path(__file__).resolve().parents[1]
STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0"

OB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- stand-in for the Open Banking 1.4 pack's open-banking.xml (benchmark only) -->
<Server xmlns="http://wso2.org/projects/carbon/open-banking.xml">
    <JDBCPersistenceManager>
        <DataSource>
            <!-- a data source (jndiConfigName) defined in master-datasources.xml -->
            <Name>jdbc/WSO2OB_DB</Name>
        </DataSource>
    </JDBCPersistenceManager>
</Server>
"""


def pristine_dir(lab: dict[str, Any]) -> Path:
    return Path(lab["dir"] + "-pristine")


def drop_pristine(lab_dir: Path) -> None:
    """Remove the pristine homes kept for the lab in ``lab_dir``."""
    shutil.rmtree(str(Path(lab_dir).resolve()) + "-pristine", ignore_errors=True)


def _stamp(lab: dict[str, Any]) -> str:
    """Changes when the lab is rebuilt (new host users, new uids): old copies are stale."""
    return " ".join(str(h.get("sshd_pid")) for h in lab["hosts"]) + "\n"


def _writable(root: Path) -> None:
    """The stock files are kept read-only; a product home is writable by its owner."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, os.stat(folder).st_mode | 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o600)


def _pristine(lab: dict[str, Any], node: dict[str, Any]) -> Path:
    return pristine_dir(lab) / node["host"] / posixpath.basename(node["home"])


def _install(dest: Path, keystores: Path, flavour: str) -> None:
    kw: dict[str, Any] = {"pack_from": STOCK if STOCK.is_dir() else None, "boot_delay": 0.5}
    if "flavour" in inspect.signature(install_pack).parameters:
        kw["flavour"] = flavour
        flavour = "apim"
    install_pack(dest, keystores=keystores, **kw)
    ob = dest / "repository" / "conf" / "finance" / "open-banking.xml"
    if flavour == "ob" and not ob.exists():  # a lab pack without the OB flavour
        ob.parent.mkdir(parents=True, exist_ok=True)
        ob.write_text(OB_XML, encoding="utf-8")


def snapshot(lab: dict[str, Any], nodes: list[dict[str, Any]]) -> Path:
    """Make the pristine home of every node once (a fresh lab pack of the node's flavour
    with the stock conf laid over it, owned by the host's user); return their folder."""
    root = pristine_dir(lab)
    stamp = root / "lab-stamp"
    if root.is_dir() and (not stamp.is_file() or stamp.read_text() != _stamp(lab)):
        shutil.rmtree(root)
    root.mkdir(mode=0o700, exist_ok=True)
    stamp.write_text(_stamp(lab))
    keystores = Path(lab["dir"]) / "files" / "keystores"
    for node in nodes:
        dest = _pristine(lab, node)
        if dest.is_dir():
            continue
        dest.parent.mkdir(exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _install(tmp, keystores, node.get("flavour", "ob" if "-ob" in node["home"] else "apim"))
        _writable(tmp)
        st = Path(node["home"]).parent.stat()
        _chown_tree(tmp, (st.st_uid, st.st_gid))
        tmp.rename(dest)
        hosts = Path(node["hosts_file"])
        if hosts.is_file() and not (dest.parent / "etc-hosts").exists():
            subprocess.run(["cp", "-a", str(hosts), str(dest.parent / "etc-hosts")], check=True)
    return root


def restore(lab: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    """Put the pristine home (and hosts file) back for each node: backups and new files go."""
    for node in nodes:
        home = Path(node["home"])
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run(["cp", "-a", str(_pristine(lab, node)), str(home)], check=True)
        hosts = Path(node["hosts_file"])
        saved = _pristine(lab, node).parent / "etc-hosts"
        if saved.is_file():
            subprocess.run(["cp", "-a", str(saved), str(hosts)], check=True)
        else:
            hosts.unlink(missing_ok=True)
