"""``python3 -m benchmarks``: run every benchmark and write benchmarks/RESULTS.md.

Brings up a lab of ``--hosts`` hosts in ``--lab-dir`` when none is there (and takes it
down at the end unless ``--keep-lab``), then runs, in order: the file phase (issue 6),
start-up, the planner, the dbscript runner, the whole apply against fake boot delays
(bench_apply.py, labs of its own), and the Ansible comparison (issue 10, only
when an ``ansible-playbook`` is found at ``--ansible``; ansible-core is never a project
dependency, see bench_ansible.py). Exit code 1 when a target is missed or a benchmark
failed to run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_ansible, bench_files, bench_startup, labhomes
from benchmarks.measure import REPO, Row, machine

RESULTS = REPO / "benchmarks" / "RESULTS.md"


def _say(text: str) -> None:
    print(text, flush=True)


def _other(name: str, argv: list[str]) -> tuple[list[Row], str]:
    """A benchmark script of its own (bench_planner, bench_dbscripts): its output, its verdict."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    text = (proc.stdout + proc.stderr).strip()
    _say(text)
    met = proc.returncode == 0
    row = Row(name.removesuffix(".py"), "target of the script (see its output below)",
              time.perf_counter() - t0, "s wall", "the script's own", met)  # fmt: skip
    return [row], f"### {name}\n\n```\n{text}\n```\n"


def _fmt(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def write_results(
    rows: list[Row], extra: list[str], info: dict[str, str], notes: list[str]
) -> None:
    out = [
        "# Benchmark results",
        "",
        "Written by `python3 -m benchmarks` (see benchmarks/README.md); do not edit by hand.",
        "",
        "| | |",
        "| --- | --- |",
        f"| date (UTC) | {info['date']} |",
        f"| machine | nproc {info['nproc']}, {info['cpu']}, RAM {info['ram']} |",
        f"| python | {info['python']} (kernel {info['kernel']}) |",
        f"| load average at start / end | {info['load_start']} / {info['load_end']} |",
        "",
        "| benchmark | measure | value | unit | target | met |",
        "| --- | --- | ---: | --- | --- | --- |",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        case = r.case.replace("|", "\\|")
        out.append(f"| {r.bench} | {case} | {_fmt(r.value)} | {r.unit} | {r.target} | {met} |")
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    out += [""] + extra
    RESULTS.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__)
    ap.add_argument("--lab-dir", default="/tmp/cw-bench-lab")
    ap.add_argument("--hosts", default="4,16,32", help="host counts of the file phase")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ansible", default=bench_ansible.DEFAULT_ANSIBLE)
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    ap.add_argument(
        "--only", help="comma list of: files, startup, planner, dbscripts, apply, ansible"
    )
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    counts = sorted({int(x) for x in args.hosts.split(",")})
    lab_dir = Path(args.lab_dir)
    info = machine() | {
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_start": _load(),
    }
    rows: list[Row] = []
    extra: list[str] = []
    notes: list[str] = []
    failed: list[str] = []
    from wizard.lab import labctl

    started_lab = labctl.status(lab_dir) is None
    needs_lab = only is None or bool(only & {"files", "dbscripts", "ansible"})

    def step(name: str, fn: Any) -> None:
        if only is not None and name not in only:
            return
        _say(f"== {name}")
        try:
            rows.extend(fn())
        except (SystemExit, Exception) as exc:  # one broken benchmark does not stop the rest
            failed.append(name)
            notes.append(f"{name}: did not run to the end: {exc}")
            _say(f"{name} FAILED: {exc}")

    try:
        if needs_lab:
            bench_files.load_lab(lab_dir, max(counts), True, _say)

        def others(name: str, argv: list[str]) -> list[Row]:
            found, text = _other(name, argv)
            extra.append(text)
            return found

        step("files", lambda: bench_files.run(lab_dir, counts, args.rounds, 16, False, _say))
        step("startup", lambda: bench_startup.run(max(args.rounds, 5), _say))
        step("planner", lambda: others("bench_planner.py", []))
        step("dbscripts", lambda: others("bench_dbscripts.py", ["--lab-dir", str(lab_dir)]))
        step("apply", lambda: others("bench_apply.py", []))  # its own labs, 4 hosts
        if Path(args.ansible).exists():
            step("ansible", lambda: bench_ansible.run(lab_dir, 16, 2, args.ansible, False, _say))
        else:
            notes.append(f"ansible: skipped, no ansible-playbook at {args.ansible}")
    finally:
        if needs_lab and started_lab and not args.keep_lab:
            labctl.down(lab_dir)
            labhomes.drop_pristine(lab_dir)
    info["load_end"] = _load()
    notes.append(
        "the machine is shared: other test runs may have been going on; the load average "
        "above says how busy it was"
    )
    write_results(rows, extra, info, notes)
    _say(f"wrote {RESULTS}")
    return 1 if failed or any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
