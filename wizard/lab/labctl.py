"""``lab up | status | down``: build, check and remove a lab on this machine.

Layout of a lab directory (0755, so that host users can reach their homes)::

    lab.json                  what the lab is (docs/architecture.md), no secrets
    .carbon-wizard-lab        marker: this directory is a lab (safe to remove)
    secrets/  (0700)          db-admin.password (0600)
    keys/     (0700)          id_ed25519 (0600), id_ed25519.pub: the lab's client key
    db/                       MariaDB datadir, socket, logs
    sshd/hN/  (0700)          sshd_config, host key, pid file, log of host hN
    hosts/hN/ (host user)     the host user's home: wso2am-2.6.0/, the other product homes
                              the patterns' answers use (wso2am-2.6.0-<node>/ for a second
                              node on the host, wso2am-2.6.0-ob[-<node>]/ Open Banking
                              packs; all listed in lab.json "homes"), etc-hosts (the host's
                              own hosts file), .carbon-env, .ssh/authorized_keys
                              (root-owned), nginx/ on the first host
    files/                    keystores made once, the JDBC driver jar
    answers/                  one answers file per pattern (when the catalog is present)
"""

from __future__ import annotations

import copy
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from wizard.errors import bad_input, step_failed
from wizard.lab import build, labfile, mariadb, nginx, procs, sshd, users
from wizard.lab.build import Progress

DEFAULT_HOSTS = 4
MAX_HOSTS = 128  # loopback addresses 127.0.0.2-254; the benchmarks use 64
MARKER = ".carbon-wizard-lab"


def default_dir() -> Path:
    env = os.environ.get("CARBON_WIZARD_LAB_DIR")
    return Path(env) if env else Path(f"/tmp/carbon-wizard-lab-{os.getuid()}")


def load(dir: Path) -> dict[str, Any]:
    """The lab in ``dir`` (validated lab.json)."""
    return labfile.load(Path(dir).resolve())


# ---------------------------------------------------------------- status


def status(dir: Path) -> dict[str, Any] | None:
    """lab.json plus a ``healthy`` flag per service and overall; None when there is no lab."""
    dir = Path(dir).resolve()
    raw = labfile.read_raw(dir)
    if raw is None:
        return None
    lab = copy.deepcopy(raw)
    checks: list[bool] = [raw.get("complete", True) is not False]
    db = lab.get("db")
    if isinstance(db, dict):
        db["healthy"] = procs.alive(db.get("pid")) and mariadb.tcp_accepts(
            str(db.get("host", "127.0.0.1")), int(db.get("port", 0))
        )
        checks.append(db["healthy"])
    else:
        checks.append(False)
    hosts = lab.get("hosts") or []
    for host in hosts:
        host["healthy"] = (
            procs.alive(host.get("sshd_pid"))
            and sshd.banner(str(host.get("address")), int(host.get("ssh_port", 0))) is not None
        )
        checks.append(host["healthy"])
    checks.append(bool(hosts))
    ng = lab.get("nginx")
    if isinstance(ng, dict):
        ng["healthy"] = procs.alive(ng.get("pid"))
        checks.append(ng["healthy"])
    else:
        checks.append(False)
    lab["healthy"] = all(checks)
    return lab


# ---------------------------------------------------------------- homes


def _homes(raw: dict[str, Any]) -> list[str]:
    """Every product home of the lab (lab.json ``homes``, else the hosts' own)."""
    homes = [str(h["home"]) for h in raw.get("homes") or [] if h.get("home")]
    homes += [str(h["home"]) for h in raw.get("hosts") or [] if h.get("home")]
    return list(dict.fromkeys(homes))


def _node_pids(raw: dict[str, Any]) -> list[int]:
    """Pids of the fake Carbon nodes running from the lab's homes."""
    pids: list[int] = []
    for home in _homes(raw):
        pid = procs.read_pid_file(Path(home) / "wso2carbon.pid")
        if pid is not None and procs.is_ours(pid, home):
            pids.append(pid)
    return pids


def reset_homes(dir: Path) -> list[str]:
    """Stop the lab's nodes and put every product home back to a fresh pack.

    The hosts' own hosts files are emptied too; databases are left alone (answers
    with their own DB prefix start clean). Returns the homes reinstalled.
    """
    from wizard.lab import pack

    dir = Path(dir).resolve()
    lab = labfile.load(dir)
    procs.stop(_node_pids(lab))
    settings = lab.get("pack") or {}
    pack_from = settings.get("pack_from")
    owners: dict[str, tuple[int, int] | None] = {}
    for host in lab["hosts"]:
        st = (Path(host["home"]).parent).stat()
        owners[host["name"]] = (st.st_uid, st.st_gid) if users.is_root() else None
    plan = lab.get("homes") or [
        {"home": h["home"], "host": h["name"], "flavour": "apim"} for h in lab["hosts"]
    ]
    for h in plan:
        pack.install_pack(
            Path(h["home"]),
            keystores=dir / "files" / "keystores",
            pack_from=Path(pack_from) if pack_from else None,
            boot_delay=float(settings.get("boot_delay", 3.0)),
            owner=owners[h["host"]],
            flavour=h.get("flavour", "apim"),
        )
    for host in lab["hosts"]:
        build.make_hosts_file(Path(host["home"]).parent / build.HOSTS_FILE, owners[host["name"]])
        if host.get("created_user"):
            build.clear_crontab(str(host["user"]))
    _reset_nginx(lab)
    return [h["home"] for h in plan]


def _reset_nginx(lab: dict[str, Any]) -> None:
    """Drop the server blocks and certificates the patterns wrote; reload the lab NGINX."""
    ng = lab["nginx"]
    prefix = nginx.NginxPrefix(Path(ng.get("prefix") or Path(ng["conf_dir"]).parent))
    for folder in (prefix.conf_dir, prefix.root / "ssl"):
        if folder.is_dir():
            for item in folder.iterdir():
                if item.is_dir() and not item.is_symlink():
                    shutil.rmtree(item)
                else:
                    item.unlink()
    if procs.is_ours(ng.get("pid"), str(prefix.root)):
        st = prefix.root.stat()
        owner = (st.st_uid, st.st_gid) if users.is_root() else None
        res = nginx.run(prefix, ["-s", "reload"], owner)
        if res.returncode != 0:
            raise step_failed(
                f"the lab's nginx did not reload: {res.stderr.strip()}",
                fix=f"see {prefix.error_log}, or 'lab down' and 'lab up'",
            )


# ---------------------------------------------------------------- down


def down(dir: Path) -> bool:
    """Stop everything the lab started, remove the users it created and the directory.

    Returns False when there was no lab in ``dir``.
    """
    dir = Path(dir).resolve()
    raw = labfile.read_raw(dir)
    if raw is None:
        if (dir / MARKER).exists():
            shutil.rmtree(dir)
            return True
        return False
    pids = _node_pids(raw)
    ng = raw.get("nginx") or {}
    if ng.get("prefix") and procs.is_ours(ng.get("pid"), ng["prefix"]):
        pids.append(ng["pid"])
    procs.stop(pids)  # nodes and the load balancer first, then the hosts and the database
    pids = []
    for host in raw.get("hosts") or []:
        cfg = str(sshd.SshdFiles(dir / "sshd" / str(host.get("name"))).config)
        if procs.is_ours(host.get("sshd_pid"), cfg):
            pids.append(host["sshd_pid"])
    db = raw.get("db") or {}
    if procs.is_ours(db.get("pid"), str(mariadb.DbPaths(dir / "db").datadir)):
        pids.append(db["pid"])
    procs.stop(pids)
    for host in raw.get("hosts") or []:
        if host.get("created_user") and host.get("user"):
            build.clear_crontab(str(host["user"]))
            users.remove_user(str(host["user"]), dir / "hosts" / str(host.get("name")))
    shutil.rmtree(dir)
    return True


# ---------------------------------------------------------------- up


def up(
    dir: Path,
    hosts: int = DEFAULT_HOSTS,
    *,
    ssh_port: int = sshd.DEFAULT_PORT,
    db_port: int = mariadb.DEFAULT_PORT,
    pack_from: Path | None = None,
    boot_delay: float = 3.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build a lab in ``dir`` (or return the healthy one already there)."""
    say = progress or (lambda _msg: None)
    dir = Path(dir).resolve()
    if hosts < 1 or hosts > MAX_HOSTS:
        raise bad_input(f"a lab has 1 to {MAX_HOSTS} hosts", field="--hosts")
    if labfile.read_raw(dir) is not None:
        st = status(dir)
        if st and st["healthy"]:
            have = len(st["hosts"])
            note = "" if have == hosts else f" with {have} hosts ('lab down' first to resize)"
            say(f"a healthy lab is already up in {dir}{note}")
            return labfile.load(dir)
        say(f"the lab in {dir} is not healthy: tearing it down to rebuild it")
        down(dir)
    elif dir.exists() and any(dir.iterdir()) and not (dir / MARKER).exists():
        raise bad_input(
            f"{dir} exists and is not a lab directory",
            fix="choose another --dir (or CARBON_WIZARD_LAB_DIR), or empty that directory",
        )
    elif dir.exists():
        shutil.rmtree(dir)
    _check_parents_traversable(dir)
    started = time.monotonic()
    dir.mkdir(parents=True)
    os.chmod(dir, 0o755)
    (dir / MARKER).write_text("carbon-wizard lab directory; removed by 'carbon-wizard lab down'\n")
    rec = build.Recorder(dir, {"dir": str(dir), "complete": False, "hosts": []})
    rec.update(lambda lab: None)
    try:
        lab = build.build(dir, rec, hosts, ssh_port, db_port, pack_from, boot_delay, say)
    except BaseException:
        say("lab up failed: stopping what was started")
        try:
            down(dir)
        except Exception as exc:  # keep the original error; report the cleanup one
            say(f"cleanup after the failure failed too: {exc}")
        raise
    say(f"lab up in {time.monotonic() - started:.1f}s")
    return lab


def _check_parents_traversable(dir: Path) -> None:
    if not users.is_root():
        return
    for parent in dir.parents:
        try:
            mode = parent.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            raise bad_input(
                f"the lab's host users cannot reach {dir}: {parent} is not traversable by others",
                fix="put the lab under a directory like /tmp (--dir or CARBON_WIZARD_LAB_DIR)",
            )
