"""Benchmark of issue 10: the wizard's file phase against Ansible doing the same push.

Same lab, same hosts, same files as ``bench_files.py`` (ob-apim-cluster widened to one
node per host). Ansible does it the way WSO2's own Ansible roles do: one ``template`` task
per configuration file, each a whole file (here: the file the wizard produced for that
host, wrapped in ``{% raw %}``), ``backup: true`` like the wizard's backups, forks = hosts,
SSH pipelining on, host keys checked against a known_hosts made from lab.json. Every run,
the wizard's and Ansible's, is a fresh process with fresh SSH connections (a new
ControlPath folder each time, so no ControlPersist master carries over).

ansible-core is NOT a project dependency: install it into a throwaway venv,

    python3 -m venv /tmp/cw-ansible-venv && /tmp/cw-ansible-venv/bin/pip install ansible-core
    python3 benchmarks/bench_ansible.py --ansible /tmp/cw-ansible-venv/bin/ansible-playbook

Targets at 16 hosts: the wizard >= 25x faster than Ansible on the first push (issue 19),
>= 15x on the re-run (issue 10).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import labhomes  # noqa: E402
from benchmarks.bench_files import (  # noqa: E402
    apply_files,
    expect,
    known_hosts,
    lab_subset,
    load_lab,
    write_answers,
)
from benchmarks.measure import Row, Run, median, run_child  # noqa: E402

TARGET_FIRST, TARGET_RERUN = 25.0, 15.0  # ansible / wizard: first push, re-run
DEFAULT_ANSIBLE = "/tmp/cw-ansible-venv/bin/ansible-playbook"


def _relpaths(files: dict[str, list[str]], nodes: list[dict[str, Any]]) -> list[str]:
    homes = {n["name"]: n["home"] for n in nodes}
    rel = {os.path.relpath(p, homes[node]) for node, paths in files.items() for p in paths}
    return sorted(rel)


def write_project(
    work: Path,
    nodes: list[dict[str, Any]],
    files: dict[str, list[str]],
    hosts: list[dict[str, Any]],
) -> Path:
    """Inventory, ansible.cfg, templates (from the files now on the hosts) and playbook."""
    proj = work / "ansible"
    shutil.rmtree(proj, ignore_errors=True)
    proj.mkdir()
    rels = _relpaths(files, nodes)
    for node in nodes:
        for rel in rels:
            data = Path(node["home"], rel).read_text(encoding="utf-8")
            if "{% endraw %}" in data:
                raise SystemExit(f"{rel} holds '{{% endraw %}}': cannot template it verbatim")
            src = proj / "templates" / node["name"] / f"{rel}.j2"
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_text("{% raw %}" + data + "{% endraw %}", encoding="utf-8")
    by_name = {h["name"]: h for h in hosts}
    lines = ["[lab]"]
    for node in nodes:
        h = by_name[node["host"]]
        lines.append(
            f"{node['name']} ansible_host={h['address']} ansible_port={h['ssh_port']} "
            f"ansible_user={h['user']} ansible_ssh_private_key_file={h['key']} home={node['home']}"
        )
    (proj / "inventory.ini").write_text("\n".join(lines) + "\n")
    kh = known_hosts(hosts, proj)
    (proj / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {len(nodes)}\n"
        "host_key_checking = True\n"
        "gathering = explicit\n"
        "interpreter_python = /usr/bin/python3\n"
        "retry_files_enabled = False\n"
        f"local_tmp = {proj}/local-tmp\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        "ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes "
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={kh}\n"
    )
    tasks = []
    for rel in rels:
        tasks.append(
            {
                "name": rel,
                "ansible.builtin.template": {
                    "src": f"templates/{{{{ inventory_hostname }}}}/{rel}.j2",
                    "dest": f"{{{{ home }}}}/{rel}",
                    "backup": True,
                },
            }
        )
    play = [{"hosts": "all", "gather_facts": False, "tasks": tasks}]
    (proj / "playbook.yml").write_text(json.dumps(play, indent=1))  # JSON is YAML
    return proj


def ansible_run(playbook: str, proj: Path, round_no: int) -> Run:
    cp = proj / f"cp-{round_no}"  # fresh ControlPath folder: cold connections, like the wizard
    cp.mkdir()
    return run_child(
        [playbook, "-i", "inventory.ini", "playbook.yml"],
        timeout=900,
        env={
            "ANSIBLE_CONFIG": str(proj / "ansible.cfg"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp),
            "ANSIBLE_NOCOLOR": "1",
            "LC_ALL": "C.UTF-8",
        },
        cwd=proj,
    )


def recap(run: Run, n: int, changed: bool, what: str) -> None:
    lines = [ln for ln in run.output.splitlines() if " : ok=" in ln]
    ok = run.returncode == 0 and len(lines) == n and all("failed=0" in ln for ln in lines)
    if ok and not changed:
        ok = all("changed=0 " in ln for ln in lines)
    if ok and changed:
        ok = all("changed=0 " not in ln for ln in lines)
    if not ok:
        tail = "\n".join(run.output.splitlines()[-25:])
        raise SystemExit(f"ansible {what}: unexpected result (exit {run.returncode})\n{tail}")


def same_files(proj: Path, nodes: list[dict[str, Any]]) -> None:
    """Ansible's push left the same bytes as the wizard's (the templates are those files)."""
    for node in nodes:
        for src in (proj / "templates" / node["name"]).rglob("*.j2"):
            rel = src.relative_to(proj / "templates" / node["name"]).as_posix()[: -len(".j2")]
            want = src.read_text(encoding="utf-8")[len("{% raw %}") : -len("{% endraw %}")]
            if Path(node["home"], rel).read_text(encoding="utf-8") != want:
                raise SystemExit(f"ansible left {node['home']}/{rel} different from the wizard's")


def run(
    lab_dir: Path,
    n: int,
    rounds: int,
    playbook: str,
    up: bool = False,
    say: Callable[[str], None] = print,
) -> list[Row]:
    if not Path(playbook).exists() and not shutil.which(playbook):
        raise SystemExit(f"no ansible-playbook at {playbook}: see this script's docstring")
    lab = load_lab(lab_dir, n, up, say)
    hosts = lab_subset(lab, n)["hosts"]
    with tempfile.TemporaryDirectory(prefix="cw-bench-ansible-") as tmp:
        work = Path(tmp)
        answers, files, nodes = write_answers(lab, n, work)
        total = sum(len(v) for v in files.values())
        labhomes.snapshot(lab, nodes)
        labhomes.restore(lab, nodes)
        expect(apply_files(n, answers, work / "s0", n), total, True, "wizard push")
        proj = write_project(work, nodes, files, hosts)
        w1, w2, a1, a2 = [], [], [], []
        for r in range(rounds):
            labhomes.restore(lab, nodes)
            run1 = apply_files(n, answers, work / f"s{r}", n)
            expect(run1, total, True, "wizard first push")
            run2 = apply_files(n, answers, work / f"s{r}", n)
            expect(run2, total, False, "wizard re-run")
            w1.append(run1.seconds)
            w2.append(run2.seconds)
            labhomes.restore(lab, nodes)
            first = ansible_run(playbook, proj, 2 * r)
            recap(first, n, True, "first push")
            same_files(proj, nodes)
            again = ansible_run(playbook, proj, 2 * r + 1)
            recap(again, n, False, "re-run")
            a1.append(first.seconds)
            a2.append(again.seconds)
    tw1, tw2, ta1, ta2 = median(w1), median(w2), median(a1), median(a2)
    s1, s2 = ta1 / tw1, ta2 / tw2
    say(
        f"{n} hosts, {total} files: first push wizard {tw1:.2f}s, ansible {ta1:.2f}s "
        f"({s1:.1f}x); re-run wizard {tw2:.2f}s, ansible {ta2:.2f}s ({s2:.1f}x)"
    )
    return [
        Row("ansible", f"{n} hosts: ansible-playbook first push (template tasks)", ta1, "s"),
        Row("ansible", f"{n} hosts: ansible-playbook re-run, nothing to change", ta2, "s"),
        Row("ansible", f"{n} hosts: wizard first push (same run)", tw1, "s"),
        Row("ansible", f"{n} hosts: wizard re-run (same run)", tw2, "s"),
        Row(
            "ansible",
            "first push: ansible / wizard",
            s1,
            "x",
            f">= {TARGET_FIRST:g}x",
            s1 >= TARGET_FIRST,
        ),
        Row(
            "ansible",
            "re-run: ansible / wizard",
            s2,
            "x",
            f">= {TARGET_RERUN:g}x",
            s2 >= TARGET_RERUN,
        ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lab-dir", default="/tmp/cw-bench-lab")
    ap.add_argument("--up", action="store_true", help="start a lab when there is none")
    ap.add_argument("--hosts", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ansible", default=DEFAULT_ANSIBLE, help="the ansible-playbook to run")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rows = run(Path(args.lab_dir), args.hosts, args.rounds, args.ansible, args.up)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
