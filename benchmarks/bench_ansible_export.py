"""Benchmark of issue 18: the file phase of ``carbon-wizard export ansible``'s playbook
against the wizard's own, same run, same lab, same files as ``bench_files.py``
(ob-apim-cluster widened to one node per host, 16 hosts).

- the wizard: ``apply --only files`` (first push from pristine homes, then a re-run);
- the export: ``ansible-playbook site.yml --tags files`` of a project exported
  ``--offline`` from the same answers (the first play reads every home and re-plans;
  then one task per file, run by the action plugin through the wizard's handlers over
  Ansible's ssh connection), first push from the same pristine homes and a re-run; forks
  = hosts, pipelining and ControlPersist on (the export's ansible.cfg), a fresh
  ControlPath folder per run. The files it leaves are compared with the wizard's.

The widened pattern reaches the playbook's processes through a vars plugin the benchmark
adds to its copy of the project (it widens the role in ansible-playbook's own process,
which the task workers are forked from).

    python3 benchmarks/bench_ansible_export.py --lab-dir /tmp/cw-bench-lab --up

Needs ansible-core importable by this Python (the test extra). Target: the exported
playbook's first push within 10x the wizard's at 16 hosts (Ansible forks a worker per
task and host; bench_ansible.py measures whole-file templates at ~16x).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import labhomes  # noqa: E402
from benchmarks.bench_files import (  # noqa: E402
    apply_files,
    expect,
    lab_subset,
    load_lab,
    spec,
    write_answers,
)
from benchmarks.measure import Row, Run, median, run_child  # noqa: E402

TARGET_RATIO = 10.0
WIDEN_PLUGIN = '''"""benchmark only: widen {spec} in ansible-playbook's process"""
import sys
sys.path.insert(0, {repo!r})
from ansible.plugins.vars import BaseVarsPlugin
from benchmarks.widen import widen
widen({spec!r})


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = False

    def get_vars(self, loader, path, entities, cache=True):
        return {{}}
'''


def playbook() -> str:
    try:
        import ansible  # noqa: F401
    except ImportError:
        raise SystemExit("ansible-core is not importable: pip install -e '.[test]'") from None
    return str(Path(sys.executable).parent / "ansible-playbook")


def export(n: int, answers: Path, project: Path) -> None:
    run = run_child(
        [sys.executable, "-m", "benchmarks.widen", spec(n), "--", "export", "ansible"]
        + ["--answers", str(answers), "-o", str(project), "--offline", "--force"]
    )
    if run.returncode != 0:
        raise SystemExit(f"export failed: {run.output[-2000:]}")
    plugin = project / "vars_plugins" / "aaa_bench_widen.py"
    plugin.write_text(WIDEN_PLUGIN.format(spec=spec(n), repo=str(REPO)))


def ansible_files(project: Path, round_no: int) -> Run:
    cp = project.parent / f"cp{round_no}"
    cp.mkdir()
    return run_child(
        [playbook(), "site.yml", "--tags", "files"],
        timeout=1800,
        env={
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp),
            "ANSIBLE_NOCOLOR": "1",
            "LC_ALL": "C.UTF-8",
        },
        cwd=project,
    )


def recap(run: Run, nodes: int, changed: bool, what: str) -> None:
    """Every node in the recap, none failed; a first push changed every node, a re-run none."""
    lines = [ln for ln in run.output.splitlines() if " : ok=" in ln]
    per = [dict(kv.split("=") for kv in ln.split(" : ", 1)[1].split()) for ln in lines]
    moved = [int(p["changed"]) for p in per]
    ok = run.returncode == 0 and len(lines) >= nodes and all(p["failed"] == "0" for p in per)
    ok = ok and (sum(1 for c in moved if c) >= nodes if changed else not any(moved))
    if not ok:
        tail = "\n".join(run.output.splitlines()[-25:])
        raise SystemExit(f"{what}: unexpected result (exit {run.returncode})\n{tail}")


def snapshot(files: dict[str, list[str]]) -> dict[str, bytes]:
    return {f"{node}:{p}": Path(p).read_bytes() for node, paths in files.items() for p in paths}


def run(lab_dir: Path, n: int, rounds: int, up: bool, say: Any = print) -> list[Row]:
    playbook()
    lab = load_lab(lab_dir, n, up, say)
    lab_subset(lab, n)
    with tempfile.TemporaryDirectory(prefix="cw-bench-ansexp-", dir="/tmp") as tmp:
        work = Path(tmp)
        answers, files, nodes = write_answers(lab, n, work)
        total = sum(len(v) for v in files.values())
        labhomes.snapshot(lab, nodes)
        project = work / "project"
        w1, w2, a1, a2 = [], [], [], []
        for r in range(rounds):
            labhomes.restore(lab, nodes)
            first = apply_files(n, answers, work / f"s{r}", n)
            expect(first, total, True, "wizard first push")
            again = apply_files(n, answers, work / f"s{r}", n)
            expect(again, total, False, "wizard re-run")
            wizard_files = snapshot(files)
            w1.append(first.seconds)
            w2.append(again.seconds)
            labhomes.restore(lab, nodes)
            export(n, answers, project)
            push = ansible_files(project, 2 * r)
            recap(push, n, True, "export first push")
            if snapshot(files) != wizard_files:
                raise SystemExit("the exported playbook left other bytes than the wizard")
            rerun = ansible_files(project, 2 * r + 1)
            recap(rerun, n, False, "export re-run")
            a1.append(push.seconds)
            a2.append(rerun.seconds)
    tw1, tw2, ta1, ta2 = median(w1), median(w2), median(a1), median(a2)
    s1, s2 = ta1 / tw1, ta2 / tw2
    say(
        f"{n} hosts, {total} files: first push wizard {tw1:.2f}s, exported playbook "
        f"{ta1:.2f}s ({s1:.1f}x); re-run wizard {tw2:.2f}s, exported playbook {ta2:.2f}s "
        f"({s2:.1f}x); same bytes"
    )
    target = f"<= {TARGET_RATIO:g}x"
    bench = "ansible_export"
    return [
        Row(bench, f"{n} hosts: exported playbook --tags files, first push", ta1, "s"),
        Row(bench, f"{n} hosts: exported playbook --tags files, re-run", ta2, "s"),
        Row(bench, f"{n} hosts: wizard apply --only files, first push (same run)", tw1, "s"),
        Row(bench, f"{n} hosts: wizard apply --only files, re-run (same run)", tw2, "s"),
        Row(bench, "first push: exported playbook / wizard", s1, "x", target, s1 <= TARGET_RATIO),
        Row(bench, "re-run: exported playbook / wizard", s2, "x", target, s2 <= TARGET_RATIO),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lab-dir", default="/tmp/cw-bench-lab")
    ap.add_argument("--up", action="store_true", help="start a lab when there is none")
    ap.add_argument("--hosts", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rows = run(Path(args.lab_dir), args.hosts, args.rounds, args.up)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
