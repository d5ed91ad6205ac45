"""Small helpers shared by the benchmarks: timing a child process with its own peak RSS,
result rows, and the machine description for RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The wizard runs as an installed tool does, with its bytecode cached (pip compiles an
# installed package; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would compile
# ~80 modules, 0.1-0.2 s, on every run): children get this environment, and
# warm_bytecode() fills the cache before the timed runs.
PYCACHE = Path(tempfile.gettempdir()) / "cw-bench-pycache"
INSTALLED = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(PYCACHE)}


def warm_bytecode() -> None:
    """Compile the project's packages into :data:`PYCACHE` (what an install does)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "wizard", "screens", "benchmarks"],
        cwd=REPO,
        env={**os.environ, **INSTALLED},
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # of the child itself (os.wait4), not of this process
    returncode: int
    output: str
    started: float = 0.0  # time.time() at spawn, to compare with times the child prints
    cpu_seconds: float = 0.0  # the child's own user + system time
    machine_busy: float = float("nan")  # share of all CPUs busy meanwhile (every process)


@dataclass
class Row:
    bench: str
    case: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot (Linux /proc/stat); (0, 0) where
    there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            ticks = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def run_child(
    argv: list[str],
    *,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run ``argv`` (from the repo root by default); wall time and the child's own peak RSS.

    Output goes to a temporary file (no pipe to drain while timing).
    """
    with tempfile.TemporaryFile() as out:
        busy0, total0 = cpu_jiffies()
        started = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd or REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - t0
        busy1, total1 = cpu_jiffies()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text, started, cpu, busy)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),  # what `nproc` prints
        "cpu": cpu,
        "ram": ram,
        "python": sys.version.split()[0],
        "kernel": platform.release(),
    }
