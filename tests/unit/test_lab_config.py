"""Rendering of the lab's service configurations (sshd, nginx, host environment)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.lab import hostenv, mariadb, nginx, sshd


def _sshd_cfg(tmp_path: Path, **over: object) -> str:
    args: dict[str, object] = {
        "address": "127.0.0.3",
        "port": 2222,
        "host_key": tmp_path / "hk",
        "pid_file": tmp_path / "sshd.pid",
        "authorized_keys": tmp_path / "home" / ".ssh" / "authorized_keys",
        "user": "cwlab3",
        "env": {"JAVA_HOME": "/usr/lib/jvm/java-17", "CARBON_BIND_ADDRESS": "127.0.0.3"},
    }
    args.update(over)
    return sshd.render_config(**args)  # type: ignore[arg-type]


def _directives(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key] = value
    return out


def test_sshd_config_is_key_only_on_its_own_address(tmp_path: Path) -> None:
    d = _directives(_sshd_cfg(tmp_path))
    assert d["ListenAddress"] == "127.0.0.3"
    assert d["Port"] == "2222"
    assert d["PasswordAuthentication"] == "no"
    assert d["KbdInteractiveAuthentication"] == "no"
    assert d["UsePAM"] == "no"
    assert d["PubkeyAuthentication"] == "yes"
    assert d["PermitRootLogin"] == "no"
    assert d["AllowUsers"] == "cwlab3"
    assert d["AuthorizedKeysFile"] == str(tmp_path / "home" / ".ssh" / "authorized_keys")
    assert d["SetEnv"] == "JAVA_HOME=/usr/lib/jvm/java-17 CARBON_BIND_ADDRESS=127.0.0.3"


def test_sshd_strict_modes_off_only_when_asked(tmp_path: Path) -> None:
    assert _directives(_sshd_cfg(tmp_path))["StrictModes"] == "yes"
    assert _directives(_sshd_cfg(tmp_path, strict_modes=False))["StrictModes"] == "no"


def test_sshd_config_rejects_env_values_sshd_would_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JAVA_HOME"):
        _sshd_cfg(tmp_path, env={"JAVA_HOME": "/opt/my java"})


def test_sshd_accepts_the_rendered_config(tmp_path: Path) -> None:
    if not Path(sshd.SSHD).exists() or shutil.which("ssh-keygen") is None:
        pytest.skip("openssh-server is not installed")
    key = tmp_path / "hk"
    sshd.wait_keygen([sshd.keygen(key, "t")])
    cfg = tmp_path / "sshd_config"
    cfg.write_text(_sshd_cfg(tmp_path, user="root" if os.geteuid() == 0 else "nobody"))
    sshd.ensure_privsep_dir()  # as the lab does before it starts an sshd
    res = subprocess.run([sshd.SSHD, "-t", "-f", str(cfg)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "k"
    sshd.wait_keygen([sshd.keygen(key, "t")])
    line = sshd.public_key_line(key)
    assert line.startswith("ssh-ed25519 AAAA") and len(line.split()) == 2
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(key) + ".pub"], capture_output=True, text=True, check=True
    ).stdout
    assert sshd.fingerprint(line) == out.split()[1]


def test_nginx_conf_keeps_everything_in_the_prefix(tmp_path: Path) -> None:
    text = nginx.render_conf(tmp_path)
    http = text[text.index("http {") :]
    assert "include conf.d/*.conf;" in http
    assert f"pid {tmp_path}/logs/nginx.pid;" in text
    assert f"error_log {tmp_path}/logs/error.log" in text
    for name in nginx.TEMP_DIRS:
        assert f"{name}_temp_path {tmp_path}/temp/{name};" in http
    assert "\nuser " not in text  # runs as the host's user, never switches


def test_nginx_wrapper_runs_t_on_a_fresh_prefix(tmp_path: Path) -> None:
    if not Path(nginx.NGINX).exists():
        pytest.skip("nginx is not installed")
    prefix = nginx.NginxPrefix(tmp_path / "nginx")
    nginx.make_prefix(prefix, None)
    assert prefix.conf_dir.is_dir() and not any(prefix.conf_dir.iterdir())
    res = nginx.run(prefix, ["-t"], None)
    assert res.returncode == 0, res.stderr
    assert "test is successful" in res.stderr
    # a broken server block is caught by the same wrapper
    (prefix.conf_dir / "bad.conf").write_text("server { listen 127.0.0.2:8443 ssl; bogus; }\n")
    res = nginx.run(prefix, ["-t"], None)
    assert res.returncode != 0
    assert "bogus" in res.stderr


def test_env_file_round_trips_through_the_shell(tmp_path: Path) -> None:
    env = {"JAVA_HOME": "/opt/j d k", "CARBON_NODE_NAME": "h2", "CARBON_BIND_ADDRESS": "127.0.0.2"}
    f = tmp_path / ".carbon-env"
    f.write_text(hostenv.env_file_text(env))
    out = subprocess.run(
        ["bash", "-c", f'. {f} && printf "%s|%s|%s" "$JAVA_HOME" "$CARBON_NODE_NAME" "$PATH"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    java, node, path = out.split("|")
    assert (java, node) == ("/opt/j d k", "h2")
    assert path.startswith("/opt/j d k/bin:")


def test_db_server_args_hold_no_password_and_user_root_only_as_root() -> None:
    kind = mariadb.ServerKind("mariadb", "/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "10")
    paths = mariadb.DbPaths(Path("/lab/db"))
    as_root = mariadb.server_args(kind, paths, 33306, as_root=True)
    assert "--user=root" in as_root
    assert "--bind-address=127.0.0.1" in as_root and "--port=33306" in as_root
    assert "--no-defaults" == as_root[1]  # must come first, before --user
    user = mariadb.server_args(kind, paths, 33306, as_root=False)
    assert not any(a.startswith("--user") for a in user)
    assert not any("password" in a for a in as_root + user)
    # its own tmpdir: a server starting deletes every #sql* file in its tmpdir (another
    # lab's live temporary tables, when they shared /tmp)
    assert "--tmpdir=/lab/db/tmp" in user


def test_db_version_is_parsed_from_server_banner() -> None:
    banner = "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64"
    assert mariadb.parse_version(banner) == "10.11.6"
    assert mariadb.parse_version("mysqld  Ver 8.0.36 for Linux on x86_64") == "8.0.36"
    assert mariadb.parse_version("garbage") == "unknown"


def test_secret_file_is_0600_from_the_start(tmp_path: Path) -> None:
    f = tmp_path / "s" / "pw"
    mariadb.write_secret_file(f, "s3cret-value")
    assert f.stat().st_mode & 0o777 == 0o600
    assert f.read_text() == "s3cret-value\n"
