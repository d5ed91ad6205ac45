"""The lab is real: verified SSH to each host, a working DB admin, NGINX, fake Carbon."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shlex
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import paramiko
import pymysql
import pytest
import yaml
from lxml import etree

from wizard.lab import labctl, procs, users
from wizard.lab.answers import lab_domain
from wizard.wait import poll

pytestmark = pytest.mark.lab
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root")


def run(client: paramiko.SSHClient, command: str, timeout: float = 30) -> tuple[int, str, str]:
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    out = stdout.read().decode()
    err = stderr.read().decode()
    return stdout.channel.recv_exit_status(), out, err


def test_each_host_is_its_own_user_with_its_product_home(lab, lab_ssh) -> None:
    assert len(lab["hosts"]) == 4
    assert len({h["address"] for h in lab["hosts"]}) == 4
    assert len({h["ssh_port"] for h in lab["hosts"]}) == 1
    for host in lab["hosts"]:
        client = lab_ssh(host)
        server_key = client.get_transport().get_remote_server_key()
        assert f"{server_key.get_name()} {server_key.get_base64()}" == host["host_key"]
        rc, out, _ = run(
            client,
            f"id -un; test -x {host['home']}/bin/wso2server.sh && echo home-ok; "
            'echo "$JAVA_HOME|$CARBON_BIND_ADDRESS|$CARBON_HOSTS_FILE"',
        )
        assert rc == 0
        user, home_ok, env = out.split()
        assert home_ok == "home-ok"
        # the product resolves host names through the host's own hosts file
        hosts_file = str(Path(host["home"]).parent / "etc-hosts")
        assert env == f"{lab['java_home']}|{host['address']}|{hosts_file}"
        assert f"export CARBON_HOSTS_FILE={hosts_file}" in Path(host["env_file"]).read_text()
        if os.geteuid() == 0:
            # cwlab<octet>, or cwlab<octet>-N when another lab on this machine has that name
            assert user == host["user"]
            assert user.split("-")[0] == f"cwlab{host['address'].rsplit('.', 1)[1]}"
            assert Path(host["home"]).stat().st_uid == pwd.getpwnam(user).pw_uid
    if os.geteuid() == 0:
        assert len({h["user"] for h in lab["hosts"]}) == 4


def test_a_wrong_pinned_host_key_is_rejected(lab, lab_ssh) -> None:
    h2, h3 = lab["hosts"][0], lab["hosts"][1]
    assert h2["host_key"] != h3["host_key"]
    with pytest.raises(paramiko.BadHostKeyException):
        lab_ssh(h2, host_key=h3["host_key"])
    # an unknown host is refused too: no key is ever added on the fly
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        client.connect(
            h2["address"],
            port=h2["ssh_port"],
            username=h2["user"],
            key_filename=h2["key"],
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    client.close()


def test_password_login_is_refused(lab, lab_pinned_client) -> None:
    h = lab["hosts"][0]
    client = lab_pinned_client(h["address"], h["ssh_port"], h["host_key"])
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            h["address"],
            port=h["ssh_port"],
            username=h["user"],
            password="anything",
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    client.close()


def test_db_admin_can_create_databases(lab, lab_db_password) -> None:
    db = lab["db"]
    assert Path(db["password_file"]).stat().st_mode & 0o777 == 0o600
    assert Path(db["password_file"]).parent.stat().st_mode & 0o777 == 0o700
    conn = pymysql.connect(
        host=db["host"], port=db["port"], user=db["admin_user"], password=lab_db_password
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), VERSION()")
            current, version = cur.fetchone()
            assert current == "cwadmin@%"
            assert version.startswith(db["version"])
            cur.execute("CREATE DATABASE lab_t_admin CHARACTER SET latin1")
            cur.execute("SHOW GRANTS")
            assert any("WITH GRANT OPTION" in row[0] for row in cur.fetchall())
            cur.execute("DROP DATABASE lab_t_admin")
            # temporary tables live in the lab's own folder: a server starting deletes
            # every #sql* file of its tmpdir, so a shared /tmp loses another lab's tables
            cur.execute("SELECT @@tmpdir")
            assert cur.fetchone()[0] == str(Path(lab["dir"]) / "db" / "tmp")
    finally:
        conn.close()
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        pymysql.connect(host=db["host"], port=db["port"], user="cwadmin", password="wrong")


def test_the_db_password_is_in_no_argv_and_not_in_lab_json(lab, lab_db_password) -> None:
    assert lab_db_password not in Path(lab["dir"], "lab.json").read_text()
    for pid_dir in Path("/proc").iterdir():
        if pid_dir.name.isdigit():
            try:
                argv = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert lab_db_password not in argv, f"password in argv of pid {pid_dir.name}"


def _copy_home(client: paramiko.SSHClient, host: dict[str, Any], name: str) -> str:
    home = str(Path(host["home"]).parent / name)
    rc, _, err = run(client, f"rm -rf {home} && cp -a {host['home']} {home}")
    assert rc == 0, err
    return home


def _log(home: str) -> str:
    p = Path(home, "repository/logs/wso2carbon.log")
    return p.read_text(errors="replace") if p.exists() else ""


def test_a_fake_node_starts_over_ssh_serves_https_and_stops(lab, lab_ssh) -> None:
    host = lab["hosts"][1]
    client = lab_ssh(host)
    home = _copy_home(client, host, "t-start")
    # no env sourced: sshd gives JAVA_HOME and the bind address to every command
    rc, out, err = run(client, f"{home}/bin/wso2server.sh start")
    assert rc == 0, out + err
    pid = poll(lambda: procs.read_pid_file(Path(home, "wso2carbon.pid")), deadline=10, what="pid")
    try:
        poll(lambda: "WSO2 Carbon started" in _log(home), deadline=20, what="carbon started")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host["address"], 9443, context=ctx, timeout=10)
        conn.request("GET", "/carbon/admin/login.jsp")
        assert conn.getresponse().status == 200
        conn.close()
        assert pwd.getpwuid(_proc_uid(pid)).pw_name == host["user"]
    finally:
        rc, out, err = run(client, f"{home}/bin/wso2server.sh stop")
    assert rc == 0, out + err
    poll(lambda: not procs.alive(pid), deadline=15, what="carbon stopped")


def _proc_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_a_node_with_a_wrong_db_password_refuses_to_start(lab, lab_ssh) -> None:
    host = lab["hosts"][2]
    client = lab_ssh(host)
    home = _copy_home(client, host, "t-baddb")
    sftp = client.open_sftp()
    sftp.put(lab["driver_jar"], f"{home}/repository/components/lib/{Path(lab['driver_jar']).name}")
    path = f"{home}/repository/conf/datasources/master-datasources.xml"
    with sftp.open(path) as f:
        tree = etree.fromstring(f.read())
    ds = tree.xpath("/datasources-configuration/datasources/datasource[name='WSO2AM_DB']")
    assert len(ds) == 1
    cfg = ds[0].find("definition/configuration")
    url = f"jdbc:mysql://{lab['db']['host']}:{lab['db']['port']}/lab_t_baddb?useSSL=false"
    for tag, value in {
        "url": url,
        "username": lab["db"]["admin_user"],
        "password": "not-the-password",
        "driverClassName": "com.mysql.jdbc.Driver",
    }.items():
        cfg.find(tag).text = value
    with sftp.open(path, "w") as f:
        f.write(etree.tostring(tree))
    sftp.close()
    env = shlex.quote(host["env_file"])
    rc, out, err = run(client, f". {env} && {home}/bin/wso2server.sh start")
    assert rc == 0, out + err
    poll(lambda: "Access denied" in _log(home), deadline=20, what="the DB error in the log")
    # like a real 2.6.0 node it does not give up: it logs and keeps running, never started
    pid_file = Path(home, "wso2carbon.pid")
    pid = procs.read_pid_file(pid_file)
    assert procs.alive(pid)
    log = _log(home)
    assert "ERROR {org.apache.tomcat.jdbc.pool.ConnectionPool}" in log
    assert "Error while initializing the API manager component" in log  # WSO2AM_DB's user
    assert "WSO2 Carbon started" not in log
    assert "not-the-password" not in log
    rc, out, err = run(client, f". {env} && {home}/bin/wso2server.sh stop")
    assert rc == 0, out + err
    poll(lambda: not procs.alive(pid), deadline=15, what="the node to stop")


def test_nginx_runs_as_the_host_user_and_its_wrapper_tests_config(lab, lab_ssh) -> None:
    ng = lab["nginx"]
    host = next(h for h in lab["hosts"] if h["name"] == ng["host"])
    assert procs.alive(ng["pid"])
    assert pwd.getpwuid(_proc_uid(ng["pid"])).pw_name == host["user"]
    client = lab_ssh(host)
    rc, _, err = run(client, f"{ng['command']} -t")
    assert rc == 0, err
    assert "test is successful" in err
    rc, out, _ = run(client, f"test -w {ng['conf_dir']} && ls -A {ng['conf_dir']} | wc -l")
    assert rc == 0 and out.strip() == "0"  # empty and writable by the host user


def test_status_json_via_the_cli(lab) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "lab", "status", "--json", "--dir", lab["dir"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    st = json.loads(proc.stdout)
    assert st["healthy"] is True
    assert st["db"]["healthy"] and st["nginx"]["healthy"]
    assert [h["healthy"] for h in st["hosts"]] == [True] * 4
    assert st["hosts"][0]["host_key_fingerprint"].startswith("SHA256:")


def test_up_again_reuses_repairs_and_down_leaves_nothing(
    lab, lab_factory, lab_pinned_client
) -> None:
    d, small = lab_factory(1)
    h = small["hosts"][0]
    assert h["address"] not in {x["address"] for x in lab["hosts"]}
    assert small["db"]["port"] != lab["db"]["port"]
    # a second up sees the healthy lab and leaves it as it is
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "lab", "up", "--hosts", "1", "--dir", str(d)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "healthy lab is already up" in proc.stderr
    assert h["address"] in proc.stdout
    assert labctl.load(d)["hosts"][0]["sshd_pid"] == h["sshd_pid"]
    # a half-dead lab: status says so (exit 1), up rebuilds it
    os.kill(h["sshd_pid"], signal.SIGTERM)
    poll(lambda: not procs.alive(h["sshd_pid"]), deadline=10, what="sshd gone")
    cli = [sys.executable, "-m", "wizard", "lab", "status", "--dir", str(d)]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "DOWN" in proc.stdout
    repaired = labctl.up(d, 1, boot_delay=0.5)
    rh = repaired["hosts"][0]
    assert rh["sshd_pid"] != h["sshd_pid"] and procs.alive(rh["sshd_pid"])
    assert labctl.status(d)["healthy"] is True
    # a running node is stopped by down too
    client = lab_pinned_client(rh["address"], rh["ssh_port"], rh["host_key"])
    client.connect(
        rh["address"],
        port=rh["ssh_port"],
        username=rh["user"],
        key_filename=rh["key"],
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    assert run(client, f"{rh['home']}/bin/wso2server.sh start")[0] == 0
    client.close()
    node = poll(lambda: procs.read_pid_file(Path(rh["home"], "wso2carbon.pid")), deadline=10)
    pids = [repaired["db"]["pid"], rh["sshd_pid"], repaired["nginx"]["pid"], node]
    assert all(procs.alive(p) for p in pids)
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "lab", "down", "--dir", str(d)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [p for p in pids if procs.alive(p)] == []
    assert not d.exists()
    if os.geteuid() == 0:
        with pytest.raises(KeyError):
            pwd.getpwnam(rh["user"])
    assert labctl.status(d) is None


def test_answers_files_point_at_this_lab(lab) -> None:
    assert lab["answers"], "the catalog is installed, so the lab writes answers"
    for pattern, path in lab["answers"].items():
        answers = yaml.safe_load(Path(path).read_text())
        assert answers["pattern"] == pattern
        text = Path(path).read_text()
        assert lab["hosts"][0]["address"] in text and lab["db"]["password_file"] in text
        if "lb" in answers:  # names an admin would use, under the reserved .test TLD
            # the lab folder's name as a DNS label (tests/unit/test_lab_answers.py)
            name = lab_domain(lab).removesuffix(".test")
            assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name), name
            assert name.startswith("cw-lab-")
            assert answers["lb"]["hostname"] == f"apim.{name}.test"
            assert answers["lb"]["ip"] == lab["nginx"]["address"]
        for ref in {w[5:] for w in text.split() if w.startswith("file:")}:
            assert Path(ref).stat().st_mode & 0o777 == 0o600, ref


# ---------------------------------------------------------------- host users


@pytest.fixture
def address() -> str:
    return f"127.0.0.{200 + os.getpid() % 50}"


@pytest.fixture
def cleanup():
    names: list[str] = []
    yield names
    for name in names:
        entry = users.lookup(name)
        if entry is not None and entry.pw_gecos.startswith(users.MARKER):
            users.remove_user(name, Path(entry.pw_dir))


@needs_root
def test_user_lifecycle(tmp_path: Path, address: str, cleanup: list[str]) -> None:
    home = tmp_path / "h"
    home.mkdir()
    user = users.ensure_user(address, home, prefix="cwut")
    cleanup.append(user.name)
    assert user.created and user.name == users.base_name(address, "cwut")
    entry = pwd.getpwnam(user.name)
    assert (entry.pw_dir, entry.pw_shell) == (str(home), "/bin/bash")
    # usable for key logins without PAM: not a locked ("!") account
    shadow = Path("/etc/shadow").read_text().splitlines()
    assert f"{user.name}:*:" in "\n".join(shadow)
    # same lab again: the same user
    assert users.ensure_user(address, home, prefix="cwut") == user
    # another lab, while this one lives: another name
    other_home = tmp_path / "other"
    other_home.mkdir()
    other = users.ensure_user(address, other_home, prefix="cwut")
    cleanup.append(other.name)
    assert other.name == f"{user.name}-1"
    # removal needs the home it was made for
    assert users.remove_user(user.name, other_home) is False
    assert users.lookup(user.name) is not None
    assert users.remove_user(user.name, home) is True
    assert users.lookup(user.name) is None


@needs_root
def test_a_stale_lab_user_is_reclaimed(tmp_path: Path, address: str, cleanup: list[str]) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    old = users.ensure_user(address, gone, prefix="cwus")
    cleanup.append(old.name)
    gone.rmdir()  # its lab vanished without 'lab down'
    home = tmp_path / "new"
    home.mkdir()
    new = users.ensure_user(address, home, prefix="cwus")
    assert new.name == old.name and new.created
    assert pwd.getpwnam(new.name).pw_dir == str(home)
