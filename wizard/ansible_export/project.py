"""Write the Ansible project: inventory, group and host vars, site.yml, the action
plugin, the plan and the answers (references only), known_hosts, a README.

No file of the project holds a secret value: the answers keep their references, the plan
its tokens, and ``group_vars/all/secrets.yml`` maps every token to a lookup that mirrors
its reference (``env:`` -> ``lookup('env')``, ``file:`` -> ``lookup('file')``, ``prompt``
-> a ``vars_prompt`` asked once at the start of the run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wizard import __version__
from wizard.ansible_export import plays as playbook
from wizard.ansible_export.runtime import DATA_DIR, secret_paths
from wizard.answers import Answers
from wizard.catalog.model import Pattern
from wizard.errors import bad_input
from wizard.plan import Plan
from wizard.templating import render_file

# ansible-apim (2.6.x) groups of the API Manager 2.6.0 profiles
PROFILE_GROUPS = {
    "api-key-manager": "apim-km",
    "traffic-manager": "apim-tm",
    "api-publisher": "apim-publisher",
    "api-store": "apim-store",
    "gateway-worker": "apim-gateway",
}
OURS = ("ansible.cfg", "inventory.yml", "site.yml", "README.md", "known_hosts")
OUR_DIRS = ("group_vars", "host_vars", "action_plugins", "vars_plugins", DATA_DIR)


@dataclass
class Secrets:
    """Answer path -> the Jinja2 expression that resolves its reference on the controller."""

    values: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)  # variable -> prompt text

    def expr(self, ref: str, path: str) -> str:
        if ref.startswith("env:"):
            name = ref[4:]
            hint = f"set the environment variable {name} (the answers' {path}: env:{name})"
            return (
                f"{{{{ lookup('ansible.builtin.env', {json.dumps(name)}, "
                f"default=undef(hint={json.dumps(hint)})) }}}}"
            )
        if ref.startswith("file:"):
            file = os.path.abspath(os.path.expanduser(ref[5:]))
            return (
                f"{{{{ lookup('ansible.builtin.file', {json.dumps(file)}, rstrip=false)"
                " | regex_replace('[\r\n]+$', '') }}"  # real CR and LF: no escapes to parse
            )
        var = "cw_prompt_" + re.sub(r"\W", "_", path)
        self.prompts[var] = f"Password for {path}"
        return f"{{{{ {var.replace('cw_prompt_', 'cw_prompted_', 1)} }}}}"


def role_group(role: str, pattern: Pattern) -> str:
    """The inventory group of a role: ansible-apim's for a profile, else apim-<role>."""
    profile = pattern.roles[role].profile
    if profile in PROFILE_GROUPS:
        return PROFILE_GROUPS[str(profile)]
    name = re.sub(r"[^A-Za-z0-9-]+", "-", role).strip("-") or "node"
    return "apim-default" if name == playbook.NODES_GROUP else f"apim-{name}"


def free_name(wanted: str, taken: set[str]) -> str:
    """A group name no host has (a host and a group of one name make patterns ambiguous:
    ob-km-ha has a node called apim)."""
    name = wanted
    while name in taken:
        name += "-group"
    return name


def group_names(answers: Answers) -> tuple[str, str]:
    """(the parent group of every node, the load balancer's group)."""
    hosts = {n.name for n in answers.nodes} | ({answers.lb.name} if answers.lb else set())
    return free_name(playbook.NODES_GROUP, hosts), free_name(playbook.LB_GROUP, hosts)


def _ssh_vars(ssh: Any, address: str, at: str, secrets: Secrets) -> dict[str, Any]:
    """Inventory vars of one host (no secret); login secrets go to its host_vars."""
    out: dict[str, Any] = {"ansible_host": address}
    if ssh.transport == "local":
        out["ansible_connection"] = "local"
        return out
    if ssh.user:
        out["ansible_user"] = ssh.user
    out["ansible_port"] = ssh.port
    if ssh.key:
        out["ansible_ssh_private_key_file"] = str(ssh.key)
        out["ansible_ssh_extra_args"] = "-o IdentitiesOnly=yes"
    if ssh.sudo:
        out["ansible_become"] = True
    return out


def _login_secrets(ssh: Any, at: str, secrets: Secrets) -> dict[str, str]:
    out = {}
    if ssh.password:
        out["ansible_password"] = secrets.expr(ssh.password, f"{at}.password")
    if ssh.sudo_password:
        out["ansible_become_password"] = secrets.expr(ssh.sudo_password, f"{at}.sudo_password")
    return out


def inventory(
    answers: Answers, pattern: Pattern, secrets: Secrets
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(inventory.yml data, host_vars per host)."""
    groups: dict[str, dict[str, Any]] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    parent, lb_group = group_names(answers)
    taken = {n.name for n in answers.nodes} | {parent, lb_group}
    if answers.lb is not None:
        taken.add(answers.lb.name)
    for i, n in enumerate(answers.nodes):
        group = groups.setdefault(free_name(role_group(n.role, pattern), taken), {"hosts": {}})
        group["hosts"][n.name] = _ssh_vars(n.ssh, n.address, f"nodes.{i}.ssh", secrets)
        home = str(n.home or answers.product.home)
        host_vars[n.name] = {
            "carbon_home": home,
            "cw_role": n.role,
            **_login_secrets(n.ssh, f"nodes.{i}.ssh", secrets),
        }
    children: dict[str, Any] = {parent: {"children": groups}}
    if answers.lb is not None:
        lb = answers.lb
        children[lb_group] = {"hosts": {lb.name: _ssh_vars(lb.ssh, lb.address, "lb.ssh", secrets)}}
        host_vars[lb.name] = {"cw_role": "lb", **_login_secrets(lb.ssh, "lb.ssh", secrets)}
    return {"all": {"children": children}}, host_vars


def known_hosts_lines(answers: Answers) -> list[str]:
    """The full host keys pinned in the answers, as known_hosts lines."""
    out = []
    hosts = [(n.address, n.ssh) for n in answers.nodes]
    if answers.lb is not None:
        hosts.append((answers.lb.address, answers.lb.ssh))
    for address, ssh in hosts:
        key = ssh.host_key or ""
        if ssh.transport == "local" or not key or key.startswith("SHA256:"):
            continue
        name = address if ssh.port == 22 else f"[{address}]:{ssh.port}"
        out.append(f"{name} {' '.join(key.split()[:2])}")
    return out


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=10_000)


def _prompt_play(secrets: Secrets) -> dict[str, Any]:
    return {
        "name": "carbon-wizard: secrets asked at run time (the answers' prompt references)",
        "hosts": "all",
        "gather_facts": False,
        "vars_prompt": [
            {"name": var, "prompt": text, "private": True} for var, text in secrets.prompts.items()
        ],
        "tasks": [
            {
                "name": "keep the answers for the plays that follow",
                "ansible.builtin.set_fact": {
                    var.replace("cw_prompt_", "cw_prompted_", 1): f"{{{{ {var} }}}}"
                    for var in secrets.prompts
                },
                "no_log": True,
                "tags": ["always"],
            }
        ],
    }


def site(plan: Plan, answers: Answers, secrets: Secrets) -> list[dict[str, Any]]:
    nodes = [n.name for n in answers.nodes]
    lb = answers.lb.name if answers.lb is not None else None
    groups = group_names(answers)
    verify = {
        "name": "carbon-wizard: the plan is the one the wizard would run against these homes",
        "hosts": f"{groups[0]}:{groups[1]}" if lb else groups[0],
        "gather_facts": False,
        "any_errors_fatal": True,
        "tasks": [
            {
                "name": "read the homes and the database server, plan, compare",
                "carbon_wizard": {"verify": True},
                "run_once": True,
                "tags": ["always"],
            }
        ],
    }
    first = [_prompt_play(secrets)] if secrets.prompts else []
    return [*first, verify, *playbook.render(playbook.build(plan, nodes), nodes, lb, groups)]


def check_target(out: Path, force: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise bad_input(f"{out} exists and is not a directory", fix="choose another -o")
    ours = set(OURS) | set(OUR_DIRS)
    others = sorted(p.name for p in out.iterdir() if p.name not in ours)
    if others or (any(out.iterdir()) and not force):
        raise bad_input(
            f"{out} is not empty" + (f" (it holds {', '.join(others[:5])})" if others else ""),
            fix="choose a new directory, or add --force to replace an earlier export there",
        )


def write(
    out: Path,
    *,
    answers_text: str,
    answers: Answers,
    pattern: Pattern,
    plan: Plan,
    info: dict[str, Any],
    extra_known_hosts: list[str] | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the project into ``out`` (new, empty, or an earlier export with ``force``)."""
    check_target(out, force)
    for name in OUR_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    secrets = Secrets()
    inv, host_vars = inventory(answers, pattern, secrets)
    for token in secret_paths(plan):
        secrets.values[token] = secrets.expr(answer_value_ref(answers, token), token)
    files: dict[str, str] = {
        "inventory.yml": "# carbon-wizard export: hosts and groups (no secrets)\n" + _dump(inv),
        "site.yml": "# carbon-wizard export: the plan's steps, in its order (see README.md)\n"
        + _dump(site(plan, answers, secrets)),
        "group_vars/all/carbon_wizard.yml": _dump(
            {
                "cw_export": info["id"],
                "cw_pattern": plan.pattern,
                "ansible_ssh_common_args": '-o UserKnownHostsFile="{{ inventory_dir }}/known_hosts '
                '~/.ssh/known_hosts" -o StrictHostKeyChecking=yes',
            }
        ),
        "group_vars/all/secrets.yml": "# Secrets: lookups that mirror the answers' references, "
        "never a value.\n# Replace one with a vaulted value or an AWX credential if you like.\n"
        + _dump({"cw_secrets": secrets.values}),
        f"group_vars/{group_names(answers)[0]}.yml": _dump(
            {"product_name": "wso2am", "product_version": answers.product.version}
        ),
        "ansible.cfg": render_file("ansible/ansible.cfg.j2", {"forks": max(5, len(host_vars))}),
        "action_plugins/carbon_wizard.py": render_file("ansible/carbon_wizard.py.j2", {}),
        "vars_plugins/carbon_wizard_preload.py": render_file("ansible/preload.py.j2", {}),
        f"{DATA_DIR}/answers.yaml": answers_text,
        f"{DATA_DIR}/plan.json": plan.to_json(),
        f"{DATA_DIR}/export.json": json.dumps(info, indent=2) + "\n",
        "known_hosts": "\n".join(
            dict.fromkeys([*known_hosts_lines(answers), *(extra_known_hosts or [])])
        )
        + "\n",
    }
    for host, data in host_vars.items():
        files[f"host_vars/{host}.yml"] = _dump(data)
    ctx = {
        "info": info,
        "pattern": pattern,
        "plan": plan,
        "groups": {g: sorted(v.get("hosts", {})) for g, v in _groups(inv).items()},
        "secrets": secrets,
        "env_refs": sorted({str(answer_value_ref(answers, p)) for p in secrets.values}),
        "version": __version__,
    }
    files["README.md"] = render_file("ansible/README.md.j2", ctx)
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def answer_value_ref(answers: Answers, path: str) -> str:
    from wizard.runner import answer_value

    return str(answer_value(answers, path))


def _groups(inv: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def walk(name: str, node: dict[str, Any]) -> None:
        out[name] = node
        for child, sub in (node.get("children") or {}).items():
            walk(child, sub)

    for name, node in inv["all"]["children"].items():
        walk(name, node)
    return out
