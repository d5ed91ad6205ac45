"""lab.json: written atomically, loaded with clear errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from wizard.cli.lab import summary
from wizard.errors import WizardError
from wizard.lab import labfile

LAB: dict[str, Any] = {
    "dir": "/tmp/lab",
    "complete": True,
    "db": {
        "flavour": "mariadb",
        "version": "10.11.6",
        "host": "127.0.0.1",
        "port": 33306,
        "admin_user": "cwadmin",
        "password_file": "/tmp/lab/secrets/db-admin.password",
        "pid": 123,
    },
    "hosts": [
        {
            "name": "h2",
            "address": "127.0.0.2",
            "ssh_port": 2222,
            "user": "cwlab2",
            "key": "/tmp/lab/keys/id_ed25519",
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO",
            "host_key_fingerprint": "SHA256:abc",
            "home": "/tmp/lab/hosts/h2/wso2am-2.6.0",
            "sshd_pid": 456,
        }
    ],
    "nginx": {
        "host": "h2",
        "address": "127.0.0.2",
        "https_port": 8443,
        "http_port": 8080,
        "command": "/tmp/lab/hosts/h2/nginx/bin/nginx",
        "conf_dir": "/tmp/lab/hosts/h2/nginx/conf.d",
        "pid": 789,
    },
    "driver_jar": "/tmp/lab/files/mysql-connector-java-5.1.49.jar",
    "java_home": "/usr/lib/jvm/java-17-openjdk-amd64",
    "answers": {},
}


def test_round_trip(tmp_path: Path) -> None:
    labfile.write(tmp_path, LAB)
    assert labfile.load(tmp_path) == LAB
    assert (tmp_path / "lab.json").stat().st_mode & 0o777 == 0o644
    assert not (tmp_path / "lab.json.tmp").exists()


def test_no_lab_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(WizardError) as err:
        labfile.load(tmp_path)
    assert "no lab" in err.value.what
    assert "lab up" in (err.value.fix or "")
    assert labfile.read_raw(tmp_path) is None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda lab: lab["db"].pop("port"), "db.port"),
        (lambda lab: lab["db"].update(port="33306"), "db.port"),
        (lambda lab: lab["hosts"][0].pop("host_key"), "hosts[0].host_key"),
        (lambda lab: lab["nginx"].update(pid=True), "nginx.pid"),
        (lambda lab: lab.pop("java_home"), "java_home"),
        (lambda lab: lab.update(hosts=[]), "hosts"),
        (lambda lab: lab.pop("nginx"), "nginx"),
    ],
)
def test_broken_lab_json_names_the_field(tmp_path: Path, mutate, field) -> None:
    lab = copy.deepcopy(LAB)
    mutate(lab)
    labfile.write(tmp_path, lab)
    with pytest.raises(WizardError) as err:
        labfile.load(tmp_path)
    assert err.value.where.field == field
    assert err.value.where.file == str(tmp_path / "lab.json")


def test_half_built_lab_is_refused(tmp_path: Path) -> None:
    labfile.write(tmp_path, {"dir": str(tmp_path), "complete": False, "hosts": []})
    with pytest.raises(WizardError) as err:
        labfile.load(tmp_path)
    assert "not completely built" in err.value.what
    assert labfile.read_raw(tmp_path) == {"dir": str(tmp_path), "complete": False, "hosts": []}


def test_invalid_json_points_at_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text('{\n  "dir": "x",\n  oops\n}\n')
    with pytest.raises(WizardError) as err:
        labfile.load(tmp_path)
    assert (err.value.where.line, err.value.where.column) == (3, 3)


def test_summary_shows_health_and_where_things_are() -> None:
    lab = copy.deepcopy(LAB)
    lab["db"]["healthy"] = True
    lab["hosts"][0]["healthy"] = False
    lab["nginx"]["healthy"] = True
    text = summary(lab, healthy=False)
    assert text.splitlines()[0] == "lab NOT healthy: /tmp/lab"
    assert "127.0.0.1:33306" in text and "cwadmin" in text
    host_line = next(line for line in text.splitlines() if "host h2" in line)
    assert "127.0.0.2:2222" in host_line and host_line.endswith("DOWN")
    assert "/tmp/lab/lab.json" in text
