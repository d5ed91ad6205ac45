"""Building a lab: the steps of ``lab up``, run in parallel where they can be.

Addresses and ports are chosen under a machine-wide lock; keystores are made once
(keytool is slow) while the database initialises, host keys are generated and sshd
instances start in parallel; product homes are installed in parallel.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from wizard import catalog
from wizard.errors import step_failed
from wizard.lab import addresses, labfile, mariadb, nginx, sshd, users
from wizard.lab import answers as labanswers
from wizard.lab.fakecarbon_hosts import HOSTS_FILE_ENV
from wizard.lab.hostenv import env_file_text, find_java_home, make_jdk8_home

DRIVER_JAR = "mysql-connector-java-5.1.49.jar"
HOSTS_FILE = "etc-hosts"  # next to the product homes; see wizard.lab.answers.lab_nodes

Progress = Callable[[str], None]


class Recorder:
    """lab.json written as the lab grows, so that down() can undo a failed up()."""

    def __init__(self, dir: Path, lab: dict[str, Any]) -> None:
        self.dir = dir
        self.lab = lab
        self._lock = threading.Lock()

    def update(self, fn: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            fn(self.lab)
            labfile.write(self.dir, self.lab)


def _append_host(lab: dict[str, Any], entry: dict[str, Any]) -> None:
    lab["hosts"].append(entry)


def mkdir(path: Path, mode: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path


def build(
    dir: Path,
    rec: Recorder,
    n_hosts: int,
    ssh_port: int,
    db_port: int,
    pack_from: Path | None,
    boot_delay: float,
    say: Progress,
) -> dict[str, Any]:
    from wizard.lab import pack, packs  # imported late so status/down never need them

    secrets_dir = mkdir(dir / "secrets", 0o700)
    keys_dir = mkdir(dir / "keys", 0o700)
    files_dir = mkdir(dir / "files", 0o755)
    java_home = make_jdk8_home(files_dir / "jdk8", find_java_home())
    hosts_dir = mkdir(dir / "hosts", 0o755)
    client_key = keys_dir / "id_ed25519"
    pool = ThreadPoolExecutor(max_workers=max(4, n_hosts + 2), thread_name_prefix="lab-up")
    try:
        keystores_dir = files_dir / "keystores"
        keystores: Future[Any] = pool.submit(pack.make_stock_keystores, keystores_dir, java_home)
        with addresses.machine_lock():
            addrs = addresses.allocate_addresses(
                n_hosts, addresses.busy_addresses(addresses.listeners())
            )
            port = addresses.pick_port(ssh_port, addrs)
            dbp = addresses.pick_port(db_port, ["127.0.0.1"])
            say(f"hosts {addrs[0]}..{addrs[-1]} (ssh port {port}), database port {dbp}")
            db_future = pool.submit(_start_db, dir, secrets_dir, dbp, rec)
            names = [f"h{a.rsplit('.', 1)[1]}" for a in addrs]
            sshd_dirs = [mkdir(dir / "sshd" / name, 0o700) for name in names]
            keygens = [sshd.keygen(client_key, "carbon-wizard-lab")]
            keygens += [
                sshd.keygen(sshd.SshdFiles(d).host_key, f"{name}-host")
                for d, name in zip(sshd_dirs, names, strict=True)
            ]
            host_users: list[users.HostUser] = []
            for addr, name in zip(addrs, names, strict=True):
                home_dir = hosts_dir / name
                user = users.ensure_user(addr, home_dir)
                if user.created:
                    clear_crontab(user.name)
                host_users.append(user)
                entry = {
                    "name": name,
                    "address": addr,
                    "ssh_port": port,
                    "user": user.name,
                    "created_user": user.created,
                }
                rec.update(partial(_append_host, entry=entry))
            sshd.wait_keygen(keygens)
            os.chmod(client_key, 0o600)
            client_pub = sshd.public_key_line(client_key)
            sshd.ensure_privsep_dir()
            procs_started = []
            for i, (addr, name, user) in enumerate(zip(addrs, names, host_users, strict=True)):
                home_dir = hosts_dir / name
                files = sshd.SshdFiles(sshd_dirs[i])
                env = {
                    "JAVA_HOME": str(java_home),
                    "CARBON_BIND_ADDRESS": addr,
                    "CARBON_NODE_NAME": name,
                    "CARBON_FAKE_BOOT_DELAY": f"{boot_delay:g}",
                    # the node resolves host names through this host's own hosts file
                    HOSTS_FILE_ENV: str(home_dir / HOSTS_FILE),
                }
                auth = _prepare_home(home_dir, user, client_pub, env)
                files.config.write_text(
                    sshd.render_config(
                        address=addr,
                        port=port,
                        host_key=files.host_key,
                        pid_file=files.pid_file,
                        authorized_keys=auth,
                        user=user.name,
                        env=env,
                        strict_modes=users.is_root(),
                    )
                )
                proc = sshd.start(files)
                procs_started.append((proc, files, addr))
                host_key = sshd.public_key_line(files.host_key)

                def record(
                    lab: dict[str, Any],
                    i: int = i,
                    pid: int = proc.pid,
                    hk: str = host_key,
                    hd: Path = home_dir,
                ) -> None:
                    lab["hosts"][i].update(
                        {
                            "key": str(client_key),
                            "host_key": hk,
                            "host_key_fingerprint": sshd.fingerprint(hk),
                            "sshd_pid": pid,
                            "env_file": str(hd / ".carbon-env"),
                        }
                    )

                rec.update(record)
            for proc, files, addr in procs_started:
                sshd.wait_ready(proc, files, addr, port)
            db_future.result()
        say(f"{n_hosts} sshd hosts and the database are up")
        keystores.result()
        view = {"dir": str(dir), "hosts": copy.deepcopy(rec.lab["hosts"])}
        for h in view["hosts"]:
            h["home"] = str(hosts_dir / h["name"] / pack.PRODUCT_DIRNAME)
        owners = {
            name: (user.uid, user.gid) if users.is_root() else None
            for name, user in zip(names, host_users, strict=True)
        }
        plan = lab_homes(view, say)
        zips = {
            flavour: pool.submit(
                packs.make_pack_zip,
                mkdir(dir / "packs", 0o755),
                keystores=keystores_dir,
                flavour=flavour,
                boot_delay=boot_delay,
                pack_from=pack_from,
            )
            for flavour in pack.FLAVOURS
        }
        installs = [
            pool.submit(
                pack.install_pack,
                Path(h["home"]),
                keystores=keystores_dir,
                pack_from=pack_from,
                boot_delay=boot_delay,
                owner=owners[h["host"]],
                flavour=h["flavour"],
            )
            for h in plan
        ]
        for f in installs:
            f.result()
        made = {flavour: str(f.result()) for flavour, f in zips.items()}
        rec.update(lambda lab: lab.update({"packs": made}))  # product.pack zips by flavour
        for h in view["hosts"]:
            make_hosts_file(Path(h["home"]).parent / HOSTS_FILE, owners[h["name"]])

        def record_homes(lab: dict[str, Any]) -> None:
            lab["homes"] = plan
            lab["pack"] = {
                "boot_delay": boot_delay,
                "pack_from": str(pack_from) if pack_from is not None else None,
            }
            for h, v in zip(lab["hosts"], view["hosts"], strict=True):
                h["home"] = v["home"]

        rec.update(record_homes)
        _start_nginx(dir, rec, names[0], addrs[0], host_users[0], port)
        jar = pack.make_driver_jar(files_dir / DRIVER_JAR)
        rec.update(lambda lab: lab.update({"driver_jar": str(jar), "java_home": str(java_home)}))
        answers = _write_answers(dir, rec.lab, say)
        rec.update(lambda lab: lab.update({"answers": answers, "complete": True}))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return labfile.load(dir)


def lab_homes(view: dict[str, Any], say: Progress) -> list[dict[str, str]]:
    """Every product home the lab answers use: ``{"home", "host", "flavour"}``.

    ``view`` holds ``dir`` and the ``hosts`` with their ``home``. Each host's own home
    (API Manager pack) comes first, then the homes of each pattern's nodes
    (``wizard.lab.answers.lab_nodes``: Open Banking homes, second nodes on a host).
    """
    homes: dict[str, dict[str, str]] = {
        h["home"]: {"home": h["home"], "host": h["name"], "flavour": "apim"} for h in view["hosts"]
    }
    for pattern in catalog.pattern_ids():
        for node in labanswers.lab_nodes(view, pattern):
            seen = homes.setdefault(
                node["home"],
                {"home": node["home"], "host": node["host"], "flavour": node["flavour"]},
            )
            if seen["flavour"] != node["flavour"]:
                raise step_failed(
                    f"the lab home {node['home']} is used by {pattern} as a "
                    f"{node['flavour']} pack and by another pattern as a {seen['flavour']} pack",
                    fix="give each pack flavour its own home in wizard.lab.answers.lab_nodes",
                )
    return list(homes.values())


def clear_crontab(user: str) -> None:
    """Remove the crontab of a lab user (as root): one left by an earlier lab's user of
    the same name belongs to a stale uid, and crontab(1) cannot replace it."""
    if not users.is_root() or shutil.which("crontab") is None:
        return
    subprocess.run(["crontab", "-r", "-u", user], capture_output=True, check=False, timeout=30)


def make_hosts_file(path: Path, owner: tuple[int, int] | None) -> None:
    """A host's own hosts file (the lab hosts share this machine's /etc/hosts)."""
    path.write_text(
        "# hosts file of a carbon-wizard lab host (stands in for /etc/hosts)\n"
        "127.0.0.1\tlocalhost\n"
    )
    os.chmod(path, 0o644)
    if owner is not None:
        os.chown(path, *owner)


def _prepare_home(home: Path, user: users.HostUser, client_pub: str, env: dict[str, str]) -> Path:
    """The host user's home: its own, with its own ``.ssh`` (0700) and authorized_keys
    (0600), as on a real host (the wizard authorises the artifact sync's key there), and
    its .carbon-env."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o755)
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    auth = ssh_dir / "authorized_keys"
    auth.write_text(client_pub + " carbon-wizard-lab\n")
    os.chmod(auth, 0o600)
    env_file = home / ".carbon-env"
    env_file.write_text(env_file_text(env))
    os.chmod(env_file, 0o644)
    if users.is_root():
        os.chown(home, user.uid, user.gid)
        os.chown(ssh_dir, user.uid, user.gid)
        os.chown(auth, user.uid, user.gid)
        os.chown(env_file, user.uid, user.gid)
        profile = home / ".bashrc"
        profile.write_text(". ~/.carbon-env\n")
        os.chown(profile, user.uid, user.gid)
    return auth


def _start_db(dir: Path, secrets_dir: Path, port: int, rec: Recorder) -> None:
    kind = mariadb.find_server()
    paths = mariadb.DbPaths(dir / "db")
    mariadb.init_datadir(kind, paths)
    pid = mariadb.start(kind, paths, port)
    password_file = secrets_dir / "db-admin.password"
    rec.update(
        lambda lab: lab.update(
            {
                "db": {
                    "flavour": kind.flavour,
                    "version": kind.version,
                    "host": "127.0.0.1",
                    "port": port,
                    "admin_user": mariadb.ADMIN_USER,
                    "password_file": str(password_file),
                    "socket": str(paths.socket),
                    "pid": pid,
                }
            }
        )
    )
    password = mariadb.generate_password()
    mariadb.write_secret_file(password_file, password)
    mariadb.create_admin(paths, password)
    if not mariadb.admin_works("127.0.0.1", port, password):
        raise step_failed(
            "the lab's database admin account cannot log in over TCP",
            fix=f"see {paths.error_log}",
        )


def _start_nginx(
    dir: Path, rec: Recorder, name: str, address: str, user: users.HostUser, ssh_port: int
) -> None:
    prefix = nginx.NginxPrefix(dir / "hosts" / name / "nginx")
    owner = (user.uid, user.gid) if users.is_root() else None
    nginx.make_prefix(prefix, owner)
    https = addresses.pick_port(nginx.HTTPS_PORT, [address], avoid=[ssh_port])
    http = addresses.pick_port(nginx.HTTP_PORT, [address], avoid=[ssh_port, https])
    pid = nginx.start(prefix, owner)
    rec.update(
        lambda lab: lab.update(
            {
                "nginx": {
                    "host": name,
                    "address": address,
                    "https_port": https,
                    "http_port": http,
                    "command": str(prefix.command),
                    "conf_dir": str(prefix.conf_dir),
                    "prefix": str(prefix.root),
                    "user": user.name,
                    "pid": pid,
                }
            }
        )
    )


def _write_answers(dir: Path, lab: dict[str, Any], say: Progress) -> dict[str, str]:
    """answers/<pattern>.yaml for every catalog pattern."""
    out_dir = mkdir(dir / "answers", 0o755)
    done: dict[str, str] = {}
    view = copy.deepcopy(lab)
    view["complete"] = True
    secret_files = getattr(labanswers, "lab_secret_files", None)
    if secret_files is not None:  # the secrets the answers refer to (file: references)
        for path, make in secret_files(view).items():
            if not Path(path).exists():
                mariadb.write_secret_file(Path(path), make())
    for pattern in catalog.pattern_ids():
        try:
            text = labanswers.answers_for_lab(view, pattern)
        except Exception as exc:  # one broken pattern must not take the lab down
            say(f"answers for {pattern} could not be made: {exc}")
            continue
        path = out_dir / f"{pattern}.yaml"
        path.write_text(text)
        done[pattern] = str(path)
    return done
