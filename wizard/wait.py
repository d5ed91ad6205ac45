"""Waiting is polling with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(Exception):
    def __init__(self, what: str, seconds: float, last: object = None) -> None:
        super().__init__(f"{what}: not ready after {seconds:.1f}s")
        self.what = what
        self.seconds = seconds
        self.last = last


def poll(
    probe: Callable[[], T | None],
    *,
    deadline: float,
    what: str = "condition",
    interval: float = 0.05,
    max_interval: float = 0.5,
) -> T:
    """Call ``probe`` until it returns a truthy value or ``deadline`` seconds pass.

    The interval grows gently from ``interval`` to ``max_interval``.
    Raises :class:`Timeout` with the last value seen.
    """
    start = time.monotonic()
    end = start + deadline
    last: T | None = None
    wait = interval
    while True:
        last = probe()
        if last:
            return last
        now = time.monotonic()
        if now >= end:
            raise Timeout(what, now - start, last)
        time.sleep(min(wait, max(0.0, end - now)))
        wait = min(wait * 1.5, max_interval)
