"""`carbon-wizard export ansible --offline`: the project's files for every pattern, the
plays against the plan (every step once, in an order its dependencies allow, serial
starts), the inventory groups of ansible-apim, and secrets as lookups only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.ansible_export import plays as playbook
from wizard.ansible_export.project import role_group
from wizard.answers import parse_answers
from wizard.catalog import all_patterns, load_pattern
from wizard.cli import main
from wizard.lab.answers import answers_dict
from wizard.planning.build import plan as make_plan

FAKE_LAB: dict[str, Any] = {
    "dir": "/tmp/cw-fake-lab",
    "db": {"host": "127.0.0.1", "port": 33306, "admin_user": "cwadmin", "password_file": "/x/db"},
    "hosts": [
        {
            "name": f"h{i}",
            "address": f"127.0.0.{i}",
            "ssh_port": 2222,
            "user": f"cwlab{i}",
            "key": "/x/id_ed25519",
            "host_key": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i:0>43}",
            "home": f"/tmp/cw-fake-lab/hosts/h{i}/wso2am-2.6.0",
        }
        for i in range(2, 6)
    ],
    "nginx": {
        "host": "h2",
        "address": "127.0.0.2",
        "https_port": 8443,
        "http_port": 8080,
        "conf_dir": "/tmp/cw-fake-lab/nginx/conf.d",
        "command": "/tmp/cw-fake-lab/nginx/bin/nginx",
    },
    "driver_jar": "/tmp/cw-fake-lab/files/mysql-connector-java-5.1.49.jar",
    "java_home": "/usr/lib/jvm/default-java",
}
PATTERNS = [p.id for p in all_patterns()]


def _answers(pattern: str, **change: Any) -> dict[str, Any]:
    data = answers_dict(FAKE_LAB, pattern, db_prefix="u_")
    data["keystore"]["replace"] = True
    data.update(change)
    return data


def _export(tmp_path: Path, data: dict[str, Any]) -> Path:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "project"
    assert main(["export", "ansible", "--answers", str(answers), "-o", str(out), "--offline"]) == 0
    return out


def _groups(node: dict[str, Any]) -> dict[str, list[str]]:
    """group -> its hosts (children's too), from inventory.yml data."""
    out: dict[str, list[str]] = {}

    def walk(name: str, group: dict[str, Any]) -> list[str]:
        hosts = list(group.get("hosts") or {})
        for child, sub in (group.get("children") or {}).items():
            hosts += walk(child, sub)
        out[name] = hosts
        return hosts

    for name, group in node["children"].items():
        walk(name, group)
    return out


def _tasks(site: list[dict[str, Any]], all_hosts: dict[str, list[str]]) -> list[tuple[int, str]]:
    """(play index, concrete step id) for every task and host it runs on, in run order."""
    out = []
    for i, play in enumerate(site):
        hosts = play["hosts"]
        names = all_hosts.get(hosts, [hosts]) if isinstance(hosts, str) else hosts
        # serial: 1 runs the play host by host; else task by task on every host
        batches = [[h] for h in names] if play.get("serial") == 1 else [names]
        for batch in batches:
            for task in play["tasks"]:
                args = task["carbon_wizard"]
                if "step" not in args:
                    continue
                on = batch
                if task.get("when"):
                    listed = yaml.safe_load(task["when"].split(" in ", 1)[1])
                    on = [h for h in batch if h in listed]
                if task.get("run_once"):
                    on = batch[:1]
                out += [(i, args["step"].replace("{{ inventory_hostname }}", h)) for h in on]
    return out


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_step_runs_once_after_its_dependencies(tmp_path: Path, pattern: str) -> None:
    data = _answers(pattern)
    out = _export(tmp_path, data)
    plan = json.loads((out / "carbon-wizard/plan.json").read_text())
    site = yaml.safe_load((out / "site.yml").read_text())
    inv = yaml.safe_load((out / "inventory.yml").read_text())
    nodes = [n["name"] for n in data["nodes"]]
    groups = _groups(inv["all"])
    hosts = {h for members in groups.values() for h in members}
    assert not set(groups) & hosts  # a group named like a host makes patterns ambiguous
    ran = _tasks(site, groups)
    ids = [s for _, s in ran]
    assert sorted(ids) == sorted(s["id"] for s in plan["steps"])  # each exactly once
    at = {s: n for n, s in enumerate(ids)}
    for s in plan["steps"]:
        for d in s["depends_on"]:
            if d in at:
                assert at[d] < at[s["id"]], f"{s['id']} runs before {d}"
    assert site[0]["tasks"][0]["carbon_wizard"] == {"verify": True}
    assert all(p["gather_facts"] is False for p in site)
    # the inventory: ansible-apim's groups under apim, every node, no secret reference
    parent = "apim-group" if "apim" in nodes else "apim"
    assert set(groups[parent]) == set(nodes)
    apim = inv["all"]["children"][parent]["children"]
    assert sorted(h for g in apim.values() for h in g["hosts"]) == sorted(nodes)
    assert "lookup(" not in (out / "inventory.yml").read_text()
    assert "password" not in (out / "inventory.yml").read_text()


def test_distributed_groups_and_serial_start_order(tmp_path: Path) -> None:
    out = _export(tmp_path, _answers("apim-distributed"))
    inv = yaml.safe_load((out / "inventory.yml").read_text())
    groups = set(inv["all"]["children"]["apim"]["children"])
    assert groups == {"apim-km", "apim-tm", "apim-publisher", "apim-store", "apim-gateway"}
    site = yaml.safe_load((out / "site.yml").read_text())
    starts = [p for p in site if p["name"].startswith("start")]
    assert len(starts) == 1 and starts[0]["serial"] == 1
    assert starts[0]["hosts"] == ["km", "tm", "pub", "store", "gw"]
    assert [t["tags"] for t in starts[0]["tasks"]] == [["start", "nodes"], ["wait", "nodes"]]
    db = next(p for p in site if p["name"].startswith("databases"))
    assert db["any_errors_fatal"] and all(t["run_once"] for t in db["tasks"])


def test_role_groups_follow_ansible_apim() -> None:
    assert role_group("gw", load_pattern("apim-distributed")) == "apim-gateway"
    assert role_group("active", load_pattern("apim-active-passive")) == "apim-active"
    assert role_group("apim", load_pattern("ob-km-ha")) == "apim-default"


def test_secrets_are_lookups_that_mirror_the_references(tmp_path: Path) -> None:
    data = _answers("apim-active-passive")
    data["db"]["password"] = "env:CW_DB_PASSWORD"
    data["admin"]["password"] = "prompt"
    data["nodes"][1]["ssh"]["password"] = "env:CW_SSH_PASSWORD"
    out = _export(tmp_path, data)
    secrets = yaml.safe_load((out / "group_vars/all/secrets.yml").read_text())["cw_secrets"]
    assert "lookup('ansible.builtin.env', \"CW_DB_PASSWORD\"" in secrets["db.password"]
    assert "undef(hint=" in secrets["db.password"]  # unset: a clear error, not ""
    assert "lookup('ansible.builtin.file', \"/x/db\", rstrip=false)" in secrets["db.admin_password"]
    assert secrets["admin.password"] == "{{ cw_prompted_admin_password }}"
    site = yaml.safe_load((out / "site.yml").read_text())
    assert site[0]["vars_prompt"] == [
        {
            "name": "cw_prompt_admin_password",
            "prompt": "Password for admin.password",
            "private": True,
        }
    ]
    assert site[0]["tasks"][0]["no_log"] is True
    passive = yaml.safe_load((out / "host_vars/passive.yml").read_text())
    assert "CW_SSH_PASSWORD" in passive["ansible_password"]
    # the plan and the answers keep tokens and references only
    plan = (out / "carbon-wizard/plan.json").read_text()
    assert "⟦secret:db.password⟧" in plan
    assert "env:CW_DB_PASSWORD" in (out / "carbon-wizard/answers.yaml").read_text()
    for key in ("known_hosts", "README.md", "ansible.cfg", "action_plugins/carbon_wizard.py"):
        assert (out / key).is_file()
    assert "127.0.0.3]:2222 ssh-ed25519" in (out / "known_hosts").read_text()
    assert "ansible-playbook site.yml" in (out / "README.md").read_text()


def test_an_existing_directory_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = _answers("apim-all-in-one")
    out = _export(tmp_path, data)
    answers = tmp_path / "answers.yaml"
    args = ["export", "ansible", "--answers", str(answers), "-o", str(out), "--offline"]
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    (out / "mine.txt").write_text("the admin's")
    assert main([*args, "--force"]) == 2  # never over files that are not ours


def test_plays_keep_a_shared_task_after_a_dependency_in_the_same_play() -> None:
    """A node whose step depends on another node's step in the same play gets a task of
    its own after it (the linear strategy finishes a task on every host first)."""
    data = _answers("apim-active-passive")
    answers, pattern = parse_answers(yaml.safe_dump(data), "x")
    plan = make_plan(answers, pattern)
    built = playbook.build(plan, [n.name for n in answers.nodes])
    certs = next(p for p in built if p.category == "certs")
    nodes = next(p for p in built if p.category == "nodes")
    assert built.index(certs) < built.index(nodes)
    trust = [t for t in nodes.tasks if t.kind == "truststore"]
    assert sorted(h for t in trust for h in t.hosts) == ["active", "passive"]


def test_the_preload_plugin_loads_handlers_and_project_before_the_forks(tmp_path: Path) -> None:
    """ansible-playbook's own process imports every step module and reads the project once
    (vars plugins run there); the worker forked for each task inherits both."""
    pytest.importorskip("ansible")
    out = _export(tmp_path, _answers("apim-all-in-one"))
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(out / 'vars_plugins/carbon_wizard_preload.py')!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "from wizard.ansible_export import runtime\n"
        "print('tls', 'wizard.steps.tls' in sys.modules, len(runtime._loaded))\n"
        f"mod.VarsModule().get_vars(None, {str(out / 'inventory.yml')!r}, [])\n"
        "print('project', len(runtime._loaded))\n"
    )
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert got.stdout.splitlines() == ["tls True 0", "project 1"], got.stderr
