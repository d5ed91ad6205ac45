"""Helpers for the UI tests: a lab of a test's own (real MariaDB, sshd hosts, NGINX, fake
Carbon), and Pilot helpers that wait for workers without waiting for the wizard's flow."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest


async def _settle(app: Any, pilot: Any) -> None:
    """Messages landed, every worker but the flow done and, on a form, every field
    mounted (long pages come in parts; a loaded machine is slower)."""
    from screens.form import FormScreen

    await pilot.pause()
    busy = [w for w in app.workers if w.group != "flow"]
    if busy:
        await app.workers.wait_for_complete(busy)
    for _ in range(200):
        if not isinstance(app.screen, FormScreen) or app.screen.all_mounted():
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.1)


class LoopMeter:
    """The longest single step of the UI event loop (one callback: a message handler, a
    timer, a task step), in CPU seconds of the UI thread, and what it was. Waiting for a
    busy machine's CPU does not count: only work done on the UI thread does."""

    def __init__(self) -> None:
        self.active = False
        self.worst = 0.0
        self.worst_wall = 0.0
        self.what = ""
        self.steps = 0
        self.context: Callable[[], str] = lambda: ""
        self.gc_worst = 0.0  # the longest garbage collection pause (any thread)
        self._gc_start = 0.0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if not self.active:
            return
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_worst = max(self.gc_worst, time.perf_counter() - self._gc_start)

    def reset(self) -> None:
        self.worst, self.worst_wall, self.what, self.steps = 0.0, 0.0, "", 0
        self.gc_worst = 0.0
        self.active = True


def _describe(handle: asyncio.events.Handle) -> str:
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


@pytest.fixture
def loop_meter(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopMeter]:
    meter = LoopMeter()
    original = asyncio.events.Handle._run

    def measured(handle: asyncio.events.Handle) -> None:
        if not meter.active:
            return original(handle)
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return original(handle)
        finally:
            spent = time.thread_time() - cpu
            meter.steps += 1
            if spent > meter.worst:
                meter.worst, meter.what = spent, f"{_describe(handle)} ({meter.context()})"
                meter.worst_wall = time.perf_counter() - wall

    monkeypatch.setattr(asyncio.events.Handle, "_run", measured)
    gc.callbacks.append(meter.on_gc)
    yield meter
    gc.callbacks.remove(meter.on_gc)


@pytest.fixture
def settle() -> Callable[..., Any]:
    """``await settle(app, pilot)``: messages landed, workers (but the flow) done, and a
    form's fields all mounted."""
    return _settle


@pytest.fixture
def until() -> Callable[..., Any]:
    """``await until(pilot, predicate, timeout, what)``: poll the UI until true."""
    return _until
