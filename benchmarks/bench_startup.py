"""Start-up benchmark: ``carbon-wizard --help`` and the TUI's first paint, headless.

Each measurement is a fresh process (wall time from spawn to exit, and its peak RSS):

- ``--help`` warm: the usual case, bytecode caches in place;
- ``--help`` first run: no bytecode cache for anything (``PYTHONPYCACHEPREFIX`` set to an
  empty folder, so every module, the standard library's too, is compiled), like the first
  run after an install;
- TUI first paint: ``WizardApp().run_test(size=(80, 24))`` until the welcome screen is
  mounted and painted; the child prints the clock then, the time counted is from the
  spawn to that moment (not the exit).

The page cache is not dropped (that would disturb everything else on the machine).

    python3 benchmarks/bench_startup.py [--rounds 5]

The issues set no target for these; the numbers are reported as measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.measure import Row, median, run_child  # noqa: E402

FIRST_PAINT = """
import asyncio, sys, tempfile, time
from pathlib import Path
from screens.app import WizardApp
from screens.welcome import WelcomeScreen

async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    app = WizardApp(lab_dir=tmp / "no-lab", session_dir=str(tmp / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, WelcomeScreen) or not app.screen.is_mounted:
            await pilot.pause(0.005)
        await pilot.pause()  # one refresh: the screen is painted
        print(f"painted {time.time()!r}", flush=True)

asyncio.run(main())
"""


def _cli() -> list[str]:
    exe = shutil.which("carbon-wizard")
    return [exe] if exe else [sys.executable, "-m", "wizard"]


def run(rounds: int, say: Callable[[str], None] = print) -> list[Row]:
    rows: list[Row] = []
    warm = []
    for _ in range(rounds + 1):
        r = run_child([*_cli(), "--help"], timeout=60)
        if r.returncode != 0 or "usage:" not in r.output:
            raise SystemExit(f"carbon-wizard --help failed: {r.output[-500:]}")
        warm.append(r)
    warm = warm[1:]  # the first one fills the caches
    first = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="cw-pyc-") as pyc:
            r = run_child(
                [*_cli(), "--help"],
                timeout=60,
                env={"PYTHONPYCACHEPREFIX": pyc},
            )
        if r.returncode != 0:
            raise SystemExit(f"carbon-wizard --help failed: {r.output[-500:]}")
        first.append(r)
    paint: list[float] = []
    paint_runs = []
    for _ in range(rounds):
        r = run_child([sys.executable, "-c", FIRST_PAINT], timeout=60)
        if r.returncode != 0 or "painted" not in r.output:
            raise SystemExit(f"the TUI did not paint: {r.output[-800:]}")
        painted_at = float(r.output.split("painted ", 1)[1].split()[0])
        paint.append(painted_at - r.started)
        paint_runs.append(r)
    tw, tf = (median([r.seconds for r in x]) for x in (warm, first))
    tp = median(paint)
    mw, mp = max(r.peak_rss_mb for r in warm), max(r.peak_rss_mb for r in paint_runs)
    say(f"--help warm {tw:.3f}s ({mw:.0f} MB), first run {tf:.3f}s; TUI first paint {tp:.3f}s")
    rows += [
        Row("startup", "carbon-wizard --help (warm caches)", tw, "s"),
        Row("startup", "carbon-wizard --help (first run, no bytecode cache)", tf, "s"),
        Row("startup", "carbon-wizard --help peak RSS", mw, "MB"),
        Row("startup", "TUI first paint, headless 80x24 (spawn to welcome screen)", tp, "s"),
        Row("startup", "TUI first paint peak RSS", mp, "MB"),
    ]  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rows = run(args.rounds)
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1))
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
