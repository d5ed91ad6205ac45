"""``python3 -m benchmarks``: run every benchmark and write benchmarks/RESULTS.md.

Brings up a lab of ``--hosts`` hosts in ``--lab-dir`` when none is there (and takes it
down at the end unless ``--keep-lab``), then runs, in order: the file phase (issue 6),
start-up, the planner, the edit engine's round trip, the dbscript runner, the whole apply
against fake boot delays (bench_apply.py, labs of its own), the UI loop's longest steps
(bench_ui.py, a lab of its own), and the Ansible comparison (issue 10, only when an
``ansible-playbook`` is found at ``--ansible``; ansible-core is never a project dependency,
see bench_ansible.py). Exit code 1 when a target is missed or a benchmark failed to run.

With ``--only``, RESULTS.md keeps the rows of the benchmarks that did not run (a note
says which run they are from).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_ansible, bench_ansible_export, bench_files, bench_startup, labhomes
from benchmarks.measure import REPO, Row, machine

RESULTS = REPO / "benchmarks" / "RESULTS.md"
# --only name -> the name its rows carry in RESULTS.md (the bench column, the ### section)
STEPS = {
    "files": "files",
    "startup": "startup",
    "planner": "bench_planner",
    "edits": "bench_edits",
    "dbscripts": "bench_dbscripts",
    "apply": "apply",
    "ui": "ui",
    "ansible": "ansible",
    "ansible_export": "ansible_export",
}


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


def _rows_of(name: str, argv: list[str]) -> tuple[list[Row], str]:
    """A benchmark script that writes its rows (``--json``): its rows and its output."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        proc = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / name), *argv, "--json", out.name],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        text = (proc.stdout + proc.stderr).strip()
        _say(text)
        if proc.returncode not in (0, 1) or not Path(out.name).stat().st_size:
            last = text.splitlines()[-1] if text else "no output"
            raise RuntimeError(f"{name} exited {proc.returncode}: {last}")
        rows = [Row(**r) for r in json.loads(Path(out.name).read_text())]
    return rows, f"### {name}\n\n```\n{text}\n```\n"


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _step_of(bench: str) -> str | None:
    """The ``--only`` name of a table row's benchmark or of a section's script."""
    bench = bench.removesuffix(".py")
    return next((s for s, name in STEPS.items() if bench in (name, f"bench_{s}")), None)


def previous_results(ran: set[str]) -> tuple[list[str], list[str], list[str]]:
    """From the RESULTS.md there is: the table rows, the ### sections and notes saying
    where they come from, of the benchmarks (``--only`` names) that did not run now."""
    if not RESULTS.exists():
        return [], [], []
    text = RESULTS.read_text(encoding="utf-8")
    header = dict(
        re.findall(r"^\| (date \(UTC\)|load average at start / end) \| (.*) \|$", text, re.M)
    )
    since = f"the run of {header.get('date (UTC)', '?')} (load average at start / end "
    since += f"{header.get('load average at start / end', '?')})"
    origin = {
        step: since_then
        for steps, since_then in re.findall(r"^- ([\w, ]+): kept from (.*)$", text, re.M)
        for step in steps.split(", ")
    }
    rows, sections, kept = [], [], set()
    table = text.split("| --- | --- | ---: |", 1)[-1].split("\n\n", 1)[0]
    for line in table.splitlines():
        cells = line.split(" | ")
        step = _step_of(cells[0].removeprefix("| ")) if line.startswith("| ") else None
        if step is not None and step not in ran:
            rows.append(line)
            kept.add(step)
    for part in re.split(r"^(?=### )", text, flags=re.M)[1:]:
        step = _step_of(part.split()[1])
        if step is not None and step not in ran:
            sections.append(part.rstrip() + "\n")
            kept.add(step)
    by_origin: dict[str, list[str]] = {}
    for step in STEPS:
        if step in kept:
            by_origin.setdefault(origin.get(step, since), []).append(step)
    notes = [f"{', '.join(steps)}: kept from {when}" for when, steps in by_origin.items()]
    return rows, sections, notes


def write_results(
    rows: list[Row],
    extra: list[str],
    info: dict[str, str],
    notes: list[str],
    ran: set[str] | None = None,
) -> None:
    """RESULTS.md from this run's rows; with ``ran`` (an ``--only`` run), the other
    benchmarks' rows and sections are kept from the file as it was."""
    old_rows, old_sections, old_notes = previous_results(ran) if ran is not None else ([], [], [])
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
    lines = list(old_rows)
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        case = r.case.replace("|", "\\|")
        lines.append(f"| {r.bench} | {case} | {_fmt(r.value)} | {r.unit} | {r.target} | {met} |")

    def rank(line: str) -> int:  # the runner's order, whichever run a row is from
        step = _step_of(line.split(" | ")[0].removeprefix("| "))
        return list(STEPS).index(step) if step is not None else len(STEPS)

    out += sorted(lines, key=rank)  # stable: a benchmark's rows keep their order
    notes = old_notes + notes
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    sections = old_sections + extra
    out += [""] + sorted(sections, key=lambda s: rank("| " + s.split()[1].removesuffix(".py")))
    RESULTS.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__)
    ap.add_argument("--lab-dir", default="/tmp/cw-bench-lab")
    ap.add_argument("--hosts", default="4,16,32,64", help="host counts of the file phase")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ansible", default=bench_ansible.DEFAULT_ANSIBLE)
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    ap.add_argument("--only", help=f"comma list of: {', '.join(STEPS)}")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and only - set(STEPS):
        ap.error(f"--only: no benchmark {', '.join(sorted(only - set(STEPS)))}")
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
    needs_lab = only is None or bool(only & {"files", "dbscripts", "ansible", "ansible_export"})

    def step(name: str, fn: Any) -> None:
        if only is not None and name not in only:
            return
        _say(f"== {name}")
        try:
            rows.extend(fn())
        except (SystemExit, Exception) as exc:  # one broken benchmark does not stop the rest
            failed.append(name)
            why = str(exc).strip().splitlines() or [type(exc).__name__]
            notes.append(f"{name}: did not run to the end: {why[0]}")
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
        step("edits", lambda: others("bench_edits.py", []))
        step("dbscripts", lambda: others("bench_dbscripts.py", ["--lab-dir", str(lab_dir)]))

        def apply() -> list[Row]:  # labs of its own, 4 hosts
            found, text = _rows_of("bench_apply.py", [])
            extra.append(text)
            return found

        step("apply", apply)

        def ui() -> list[Row]:  # a lab of its own, 4 hosts
            found, text = _rows_of("bench_ui.py", ["--storm-rounds", str(args.rounds)])
            extra.append(text)
            return found

        step("ui", ui)
        if Path(args.ansible).exists():
            step("ansible", lambda: bench_ansible.run(lab_dir, 16, 2, args.ansible, False, _say))
        elif only is None or "ansible" in only:
            notes.append(f"ansible: skipped, no ansible-playbook at {args.ansible}")
        step(  # the exported playbook (issue 18): ansible-core from the test extras
            "ansible_export", lambda: bench_ansible_export.run(lab_dir, 16, 2, False, _say)
        )
    finally:
        if needs_lab and started_lab and not args.keep_lab:
            labctl.down(lab_dir)
            labhomes.drop_pristine(lab_dir)
    info["load_end"] = _load()
    notes.append(
        "the machine is shared: other test runs may have been going on; the load average "
        "above says how busy it was"
    )
    write_results(rows, extra, info, notes, only)
    _say(f"wrote {RESULTS}")
    return 1 if failed or any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
