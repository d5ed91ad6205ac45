"""The UI loop's meter for bench_ui.py: every step of the asyncio loop that runs the UI,
timed in CPU time of the UI thread (wall beside), into named phases; the longest garbage
collection; and CPU hogs to run beside it."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

OVER_MS = 50.0  # a step over this is counted


@dataclass
class Phase:
    worst: float = 0.0  # CPU seconds of the UI thread
    worst_wall: float = 0.0
    what: str = ""
    steps: int = 0
    over: int = 0  # steps over OVER_MS

    def add(self, other: Phase) -> None:
        if other.worst > self.worst:
            self.worst, self.worst_wall, self.what = other.worst, other.worst_wall, other.what
        self.steps += other.steps
        self.over += other.over

    def line(self) -> str:
        return (
            f"longest step {self.worst * 1000:.0f} ms CPU ({self.worst_wall * 1000:.0f} ms wall) "
            f"of {self.steps} steps, {self.over} over {OVER_MS:.0f} ms: {self.what}"
        )


class LoopMeter:
    """Times every step of the running asyncio loop into the current phase (none: not
    counted); ``late`` is the worst lateness of a 20 ms timer, ``gc_worst`` the longest
    garbage collection, both in wall seconds."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.phases: dict[str, Phase] = {}
        self.context: Callable[[], str] = lambda: ""
        self.late = 0.0
        self.gc_worst = 0.0
        self._gc_start = 0.0

    def start(self, phase: str) -> None:
        self.phases[phase] = Phase()
        self.late = 0.0
        self.phase = phase

    def record(self, handle: asyncio.Handle, spent: float, wall: float) -> None:
        phase = self.phases[self.phase] if self.phase else None
        if phase is None:
            return
        phase.steps += 1
        if spent > OVER_MS / 1000:
            phase.over += 1
        if spent > phase.worst:
            phase.worst, phase.worst_wall = spent, wall
            phase.what = f"{_describe(handle)} ({self.context()})"

    def on_gc(self, stage: str, info: dict[str, int]) -> None:
        if self.phase is None:
            return
        if stage == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_worst = max(self.gc_worst, time.perf_counter() - self._gc_start)


def _describe(handle: asyncio.Handle) -> str:
    """Which coroutine a loop step ran (for a task step), else the callback."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f" at line {frame.f_lineno}" if frame else ""
        timer = frame.f_locals.get("self") if frame else None
        callback = getattr(timer, "_callback", None)
        if callback is not None:  # a Textual timer: name what it calls
            where += f" calling {getattr(callback, '__qualname__', callback)}"
        return f"task {getattr(coro, '__qualname__', coro)}{where}"
    return repr(handle)[:160]


@contextmanager
def metered() -> Iterator[LoopMeter]:
    """A LoopMeter hooked into every asyncio loop step (and the collector) meanwhile."""
    meter = LoopMeter()
    original = asyncio.events.Handle._run

    def measured(handle: asyncio.Handle) -> None:
        if meter.phase is None:
            return original(handle)
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return original(handle)
        finally:
            meter.record(handle, time.thread_time() - cpu, time.perf_counter() - wall)

    asyncio.events.Handle._run = measured  # type: ignore[method-assign,assignment]
    gc.callbacks.append(meter.on_gc)
    try:
        yield meter
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
        gc.callbacks.remove(meter.on_gc)


@contextmanager
def hogging(n: int) -> Iterator[None]:
    """``n`` processes spinning on the CPU meanwhile (same priority as the UI)."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(n)
    ]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
