"""Lab answers: every pattern's lab answers validate and plan, without port clashes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from wizard.answers import parse_answers
from wizard.answers.ports import port_set
from wizard.catalog import pattern_ids
from wizard.lab.answers import answers_for_lab, lab_nodes, lab_secret_files, secret_path
from wizard.planning.build import plan


def make_lab(n_hosts: int) -> dict[str, Any]:
    hosts = [
        {
            "name": f"h{i + 2}",
            "address": f"127.0.0.{i + 2}",
            "ssh_port": 2222 + i,
            "user": f"cwlab{i + 2}",
            "key": "/tmp/lab/keys/id_ed25519",
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO",
            "host_key_fingerprint": "SHA256:abc",
            "home": f"/tmp/lab/hosts/h{i + 2}/wso2am-2.6.0",
            "sshd_pid": 100 + i,
        }
        for i in range(n_hosts)
    ]
    return {
        "dir": "/tmp/lab",
        "db": {
            "flavour": "mariadb",
            "version": "10.11.6",
            "host": "127.0.0.1",
            "port": 33306,
            "admin_user": "cwadmin",
            "password_file": "/tmp/lab/secrets/db-admin.password",
            "pid": 1,
        },
        "hosts": hosts,
        "nginx": {
            "host": "h2",
            "address": "127.0.0.2",
            "https_port": 8443,
            "http_port": 8080,
            "command": "/tmp/lab/hosts/h2/nginx/bin/nginx",
            "conf_dir": "/tmp/lab/hosts/h2/nginx/conf.d",
            "pid": 2,
        },
        "driver_jar": "/tmp/lab/files/mysql-connector-java-5.1.49.jar",
        "java_home": "/usr/lib/jvm/java-17-openjdk-amd64",
    }


@pytest.mark.parametrize("n_hosts", [1, 2, 3])
@pytest.mark.parametrize("pattern_id", pattern_ids())
def test_lab_answers_validate_and_plan(pattern_id, n_hosts):
    lab = make_lab(n_hosts)
    text = answers_for_lab(lab, pattern_id, db_prefix="t1_")
    answers, pattern = parse_answers(text, "lab-answers.yaml")
    p = plan(answers, pattern)
    assert p.steps
    # every node address is a lab host; DB names carry the prefix
    assert {n.address for n in answers.nodes} <= {h["address"] for h in lab["hosts"]}
    assert all(d.name.startswith("t1_") for d in answers.db.databases.values())
    # secrets are file: references into the lab
    raw = yaml.safe_load(text)
    assert raw["db"]["admin_password"] == "file:/tmp/lab/secrets/db-admin.password"
    assert raw["admin"]["password"] == f"file:{secret_path(lab, 'carbon-admin')}"
    # the app user may connect from the DB host itself (loopback source address)
    assert "127.0.0.1" in answers.db.user_hosts


def test_nodes_sharing_a_host_get_disjoint_ports_and_homes():
    lab = make_lab(1)
    nodes = lab_nodes(lab, "apim-active-passive")
    assert [n["address"] for n in nodes] == ["127.0.0.2", "127.0.0.2"]
    assert not port_set(nodes[0]["offset"]) & port_set(nodes[1]["offset"])
    assert nodes[0]["member_port"] != nodes[1]["member_port"]
    assert nodes[0]["home"] != nodes[1]["home"]
    # both nodes on the lab host share that host's own hosts file, never /etc/hosts
    assert nodes[0]["hosts_file"] == nodes[1]["hosts_file"] == "/tmp/lab/hosts/h2/etc-hosts"
    answers, pattern = parse_answers(answers_for_lab(lab, "apim-all-in-one"))
    data = yaml.safe_load(answers_for_lab(lab, "apim-all-in-one"))
    data["db"]["host_alias"], data["db"]["ip"] = "carbondb.lab.test", "127.0.0.1"
    answers, pattern = parse_answers(yaml.safe_dump(data))
    step = plan(answers, pattern).step("node:hosts_entry")
    assert step.inputs["path"] == "/tmp/lab/hosts/h2/etc-hosts"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_lab_secret_files_cover_every_reference():
    lab = make_lab(2)
    files = lab_secret_files(lab)
    for pattern_id in pattern_ids():
        text = answers_for_lab(lab, pattern_id)
        refs = {
            v.removeprefix("file:") for v in _strings(yaml.safe_load(text)) if v.startswith("file:")
        }
        refs.discard(lab["db"]["password_file"])
        assert refs <= set(files), f"{pattern_id}: no generator for {refs - set(files)}"
    values = {path: gen() for path, gen in files.items()}
    assert values[secret_path(lab, "truststore")] == "wso2carbon"
    assert len(values[secret_path(lab, "db-app")]) >= 20
    assert values[secret_path(lab, "db-app")] != files[secret_path(lab, "db-app")]()
