"""Parallel per-host work: one host's failure never stops the others."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

H = TypeVar("H", bound=Hashable)
R = TypeVar("R")


def run_per_host(
    hosts: Iterable[H],
    fn: Callable[[H], R],
    *,
    parallelism: int = 8,
) -> dict[H, R | BaseException]:
    """Call ``fn(host)`` for every host, at most ``parallelism`` at a time.

    Returns ``{host: result}``, or the exception a host raised, in the order given.
    One host's failure never stops the others.
    """
    items = list(dict.fromkeys(hosts))
    if not items:
        return {}
    out: dict[H, R | BaseException] = {}
    with ThreadPoolExecutor(
        max_workers=max(1, min(parallelism, len(items))), thread_name_prefix="cw-host"
    ) as ex:
        futures = {h: ex.submit(fn, h) for h in items}
        for h, fut in futures.items():
            try:
                out[h] = fut.result()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                out[h] = exc
    return out
