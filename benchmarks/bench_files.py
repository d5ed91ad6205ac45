"""Benchmark of issue 6: ``apply --only files`` of ob-apim-cluster on many lab hosts.

ob-apim-cluster has one ``node2`` in the catalog; here ``node2`` is widened in memory to
one node per lab host (``benchmarks/widen.py``), so N hosts carry N nodes (node1 + N-1
node2), each with the pattern's file edits (8 files per node). ``options.cross_publish``
is off: its jndi2.properties edit names the single peer of a two-node cluster.

For each host count it measures, with the real CLI in a child process (wall time and
the child's own peak RSS):

- first push from pristine homes (stock 2.6.0 conf files), ``--parallelism N``;
- a re-run that changes nothing;
- at ``--compare-at`` hosts: the same first push one host at a time (``--parallelism 1``);
- at 16 hosts and more: the transport floor, one ``tar c | ssh host tar x`` per host, all
  in parallel, pushing the same files (OpenSSH client, lab key, known_hosts made from
  lab.json), and the wizard's first push over it.

The wizard runs as an installed tool does: with its bytecode cached (a private
``PYTHONPYCACHEPREFIX``, filled by one run before the timed ones), whatever
``PYTHONDONTWRITEBYTECODE`` says in the caller's environment.

    python3 benchmarks/bench_files.py --lab-dir /tmp/cw-bench-lab --up --hosts 4,16,32,64

Targets (2 cores, issue 19): 16 hosts: first push <= 3 s, re-run <= 0.8 s, peak RSS
<= 150 MB, wizard / floor <= 1.5; 64 hosts: wizard / floor <= 2.
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

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import labhomes  # noqa: E402
from benchmarks.measure import INSTALLED, Row, Run, median, run_child  # noqa: E402
from benchmarks.widen import widen  # noqa: E402
from wizard.answers import parse_answers  # noqa: E402
from wizard.lab.answers import answers_dict, lab_nodes  # noqa: E402
from wizard.planning.build import plan as make_plan  # noqa: E402

PATTERN = "ob-apim-cluster"
WIDE_ROLE = "node2"
FILE_KINDS = ("file_edit", "hosts_entry")
TARGET_FIRST, TARGET_RERUN, TARGET_MB = 3.0, 0.8, 150.0
TARGET_RATIO = {16: 1.5, 64: 2.0}  # wizard first push / tar|ssh floor, by host count
FLOOR_FROM = 16  # host counts from here on get the floor and the ratio


def lab_subset(lab: dict[str, Any], n: int) -> dict[str, Any]:
    return {**lab, "hosts": lab["hosts"][:n]}


def spec(n: int) -> str:
    return f"{PATTERN}:{WIDE_ROLE}={n - 1}"


def write_answers(
    lab: dict[str, Any], n: int, folder: Path
) -> tuple[Path, dict[str, list[str]], list[dict[str, Any]]]:
    """Answers for N nodes on the first N lab hosts; node -> files the plan edits; nodes."""
    widen(spec(n))
    nodes = lab_nodes(lab_subset(lab, n), PATTERN)
    data = answers_dict(lab_subset(lab, n), PATTERN, db_prefix="bench_")
    data.setdefault("options", {})["cross_publish"] = False
    text = yaml.safe_dump(data, sort_keys=False)
    path = folder / f"answers-{n}.yaml"
    path.write_text(text, encoding="utf-8")
    answers, pattern = parse_answers(text, str(path))
    files: dict[str, list[str]] = {}
    for step in make_plan(answers, pattern).steps:
        if step.kind in FILE_KINDS:
            files.setdefault(step.host, []).append(step.inputs["path"])
    return path, files, nodes


def apply_files(n: int, answers: Path, sessions: Path, parallelism: int) -> Run:
    return run_child(
        [
            sys.executable,
            "-m",
            "benchmarks.widen",
            spec(n),
            "--",
            "--session-dir",
            str(sessions),
            "apply",
            "--answers",
            str(answers),
            "--yes",
            "--only",
            "files",
            "--parallelism",
            str(parallelism),
        ],
        env=INSTALLED,
    )


def summary_line(run: Run) -> str:
    for line in reversed(run.output.splitlines()):
        if " changed, " in line:
            return line
    return run.output.strip().splitlines()[-1] if run.output.strip() else "(no output)"


def counts(line: str) -> dict[str, int]:
    return {word: int(num) for num, word in re.findall(r"(\d+) (changed|unchanged|failed)", line)}


def expect(run: Run, total: int, first: bool, what: str) -> int:
    """Check a run's summary: every step ran, none failed; a re-run changes nothing.

    Returns the number of files changed."""
    line = summary_line(run)
    c = counts(line)
    ok = (
        run.returncode == 0
        and c.get("failed") == 0
        and c.get("changed", 0) + c.get("unchanged", 0) == total
        and (c.get("changed", 0) > 0 if first else c.get("changed") == 0)
    )
    if not ok:
        tail = "\n".join(run.output.splitlines()[-15:])
        raise SystemExit(f"{what}: unexpected result (exit {run.returncode}): {line}\n{tail}")
    return c["changed"]


def known_hosts(hosts: list[dict[str, Any]], folder: Path) -> Path:
    path = folder / "known_hosts"
    lines = [f"[{h['address']}]:{h['ssh_port']} {h['host_key']}" for h in hosts]
    path.write_text("\n".join(lines) + "\n")
    return path


def ssh_argv(host: dict[str, Any], kh: Path, command: str) -> list[str]:
    """OpenSSH's client running ``command`` on a lab host (lab key, host key checked)."""
    return [
        "ssh", "-q", "-i", host["key"], "-p", str(host["ssh_port"]),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={kh}", f"{host['user']}@{host['address']}", command,
    ]  # fmt: skip


def floor_logins(hosts: list[dict[str, Any]], kh: Path) -> float:
    """One ``ssh host true`` per host, all at once (a login and a command, no file):
    wall seconds. What any tool that logs in to every host pays at least."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen(ssh_argv(h, kh, "true"), stdin=subprocess.DEVNULL) for h in hosts]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - t0
    if any(codes):
        raise SystemExit(f"ssh host true failed on some host: {codes}")
    return seconds


def floor_push(hosts: list[dict[str, Any]], files: list[list[str]], kh: Path) -> float:
    """One ``tar c | ssh host tar x`` per host, all at once; wall seconds."""
    t0 = time.perf_counter()
    procs = []
    for host, paths in zip(hosts, files, strict=True):
        home = os.path.commonpath(paths)
        rel = [os.path.relpath(p, home) for p in paths]
        tar = subprocess.Popen(["tar", "c", "-C", home, *rel], stdout=subprocess.PIPE)
        ssh = subprocess.Popen(
            ssh_argv(host, kh, "mkdir -p bench-floor && tar x -C bench-floor"),
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
        )
        assert tar.stdout is not None
        tar.stdout.close()
        procs.append((tar, ssh))
    codes = [(t.wait(), s.wait()) for t, s in procs]
    seconds = time.perf_counter() - t0
    if any(c != (0, 0) for c in codes):
        raise SystemExit(f"tar | ssh failed on some host: {codes}")
    return seconds


def bench_hosts(
    lab: dict[str, Any], n: int, rounds: int, work: Path, compare: bool, say: Any
) -> list[Row]:
    hosts = lab["hosts"][:n]
    answers, files, nodes = write_answers(lab, n, work)
    labhomes.snapshot(lab, nodes)
    n_files = sum(len(v) for v in files.values())
    sessions = work / f"sessions-{n}"
    labhomes.restore(lab, nodes)
    expect(apply_files(n, answers, sessions, n), n_files, True, f"{n} hosts, warm-up")
    first: list[Run] = []
    rerun: list[Run] = []
    for _ in range(rounds):
        labhomes.restore(lab, nodes)
        run = apply_files(n, answers, sessions, parallelism=n)
        changed = expect(run, n_files, True, f"{n} hosts, first push")
        first.append(run)
        again = apply_files(n, answers, sessions, parallelism=n)
        expect(again, n_files, False, f"{n} hosts, re-run")
        rerun.append(again)
    t1, t2 = median([r.seconds for r in first]), median([r.seconds for r in rerun])
    m1, m2 = max(r.peak_rss_mb for r in first), max(r.peak_rss_mb for r in rerun)
    say(
        f"{n:>3} hosts, {n_files} files ({changed} changed): first push {t1:.2f}s (peak {m1:.0f} MB), "
        f"re-run {t2:.2f}s (peak {m2:.0f} MB)"
    )
    is16 = n == 16
    rows = [
        Row("files", f"{n} hosts ({n_files} files): first push, parallelism {n}", t1, "s",
            f"<= {TARGET_FIRST:g} s" if is16 else "", t1 <= TARGET_FIRST if is16 else None),
        Row("files", f"{n} hosts: re-run, nothing to change", t2, "s",
            f"<= {TARGET_RERUN:g} s" if is16 else "", t2 <= TARGET_RERUN if is16 else None),
        Row("files", f"{n} hosts: peak RSS of the wizard", max(m1, m2), "MB",
            f"<= {TARGET_MB:g} MB", max(m1, m2) <= TARGET_MB),
    ]  # fmt: skip
    if compare:
        serial = []
        for _ in range(rounds):
            labhomes.restore(lab, nodes)
            run = apply_files(n, answers, sessions, parallelism=1)
            expect(run, n_files, True, f"{n} hosts, one at a time")
            serial.append(run)
        ts = median([r.seconds for r in serial])
        say(f"{n:>3} hosts: one host at a time {ts:.2f}s ({ts / t1:.1f}x the parallel push)")
        rows.append(Row("files", f"{n} hosts: first push, --parallelism 1", ts, "s"))
    if n < FLOOR_FROM:
        return rows
    kh = known_hosts(hosts, work)
    every = [p for paths in files.values() for p in paths]
    homes = {n["host"]: n["home"] for n in nodes}  # one node per host
    node_files = [[p for p in every if p.startswith(homes[h["name"]] + "/")] for h in hosts]
    floor = median([floor_push(hosts, node_files, kh) for _ in range(rounds)])
    logins = median([floor_logins(hosts, kh) for _ in range(rounds)])
    ratio = t1 / floor
    cpu = median([r.cpu_seconds for r in first])
    busy = median([r.machine_busy for r in first])
    say(f"{n:>3} hosts: tar|ssh floor {floor:.2f}s; wizard/floor {ratio:.2f}; ssh true on "
        f"each {logins:.2f}s (re-run / that {t2 / logins:.2f}); first push: wizard CPU "
        f"{cpu:.2f}s, machine busy {100 * busy:.0f}% of {os.cpu_count()} CPUs")  # fmt: skip
    target = TARGET_RATIO.get(n)
    rows += [
        Row("files", f"{n} hosts: transport floor, tar | ssh per host in parallel", floor, "s"),
        Row("files", f"{n} hosts: wizard first push / floor", ratio, "x",
            f"<= {target:g}x" if target else "", ratio <= target if target else None),
        Row("files", f"{n} hosts: login floor, ssh host true per host in parallel", logins, "s"),
        Row("files", f"{n} hosts: re-run / login floor", t2 / logins, "x"),
        Row("files", f"{n} hosts: first push, the wizard's CPU (user + system)", cpu, "s"),
        Row("files", f"{n} hosts: first push, machine CPU busy (all processes, "
            f"{os.cpu_count()} CPUs)", 100 * busy, "%"),
    ]  # fmt: skip
    return rows


def load_lab(dir: Path, hosts: int, up: bool, say: Any) -> dict[str, Any]:
    from wizard.lab import labctl

    try:
        lab = labctl.load(dir)
    except Exception:
        if not up:
            raise SystemExit(
                f"no lab in {dir}: pass --up to start one with {hosts} hosts"
            ) from None
        lab = labctl.up(dir, hosts, boot_delay=0.5, progress=say)
    if len(lab["hosts"]) < hosts:
        raise SystemExit(f"the lab in {dir} has {len(lab['hosts'])} hosts; {hosts} are needed")
    return lab


def run(
    lab_dir: Path, host_counts: list[int], rounds: int, compare_at: int, up: bool, say: Any = print
) -> list[Row]:
    lab = load_lab(lab_dir, max(host_counts), up, say)
    if not labhomes.STOCK.is_dir():
        say(f"note: {labhomes.STOCK} is absent: the lab pack's own (small) files are used")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-files-") as tmp:
        for n in host_counts:
            rows += bench_hosts(lab, n, rounds, Path(tmp), n == compare_at, say)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lab-dir", default="/tmp/cw-bench-lab")
    ap.add_argument("--up", action="store_true", help="start a lab when there is none")
    ap.add_argument("--hosts", default="4,16,32,64", help="host counts (comma separated)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare-at", type=int, default=16)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    counts = sorted({int(x) for x in args.hosts.split(",")})
    rows = run(Path(args.lab_dir), counts, args.rounds, args.compare_at, args.up)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
