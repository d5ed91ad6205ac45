"""Rolling restarts: at most one running node goes down at a time.

A change to a running deployment restarts its nodes. The plan does not know which nodes
run (that is only true when the run reaches them, and a plan must not change because a
node was started), so the turn-taking happens at run time: a start step that is about to
*restart* a running node takes the :class:`RollingGate`; the node's wait step hands it
back once the node is ready again, and the next restart may begin only ``settle`` seconds
later (NGINX sends nothing to a server that failed within its upstream's fail_timeout: a
second node going down before then would leave it no live upstream). A node that does not
come back keeps the gate: no other running node is taken down after it.

Fresh starts (nodes not running) never wait for the gate.
"""

from __future__ import annotations

import threading
import time

from wizard.errors import EXIT_STEP_FAILED, WizardError


class Deferred(Exception):
    """Raised by a handler's ``apply`` that cannot act yet: the executor runs the step
    again at ``until`` (``time.monotonic()``), holding no worker meanwhile."""

    def __init__(self, until: float, why: str) -> None:
        super().__init__(why)
        self.until = until
        self.why = why


class RollingGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.holder: str | None = None
        self.free_at = 0.0
        self.failed: str | None = None

    def take(self, node: str) -> None:
        """Take the gate for ``node``'s restart, or raise :class:`Deferred` (another node
        restarts, or the load balancer has not taken the last one back yet)."""
        with self._lock:
            now = time.monotonic()
            if self.failed is not None:
                raise WizardError(
                    f"{node} was not restarted: {self.failed}, restarted before it, did not "
                    "come back ready, so no other running node is taken down",
                    fix=f"see why {self.failed} did not start (its step above), fix it and "
                    "resume: the remaining nodes restart one at a time",
                    exit_code=EXIT_STEP_FAILED,
                )
            if self.holder == node:
                return
            if self.holder is not None:
                raise Deferred(now + 0.5, f"waits its turn: {self.holder} restarts")
            if now < self.free_at:
                raise Deferred(
                    self.free_at,
                    "waits for the load balancer to take back the node restarted before it",
                )
            self.holder = node

    def give_back(self, node: str, settle: float) -> None:
        """``node`` is ready again: the next restart may begin ``settle`` seconds later."""
        with self._lock:
            if self.holder == node:
                self.holder = None
                self.free_at = time.monotonic() + settle

    def broken(self, node: str) -> None:
        """``node``'s restart failed: it keeps the gate, no other node goes down."""
        with self._lock:
            if self.holder == node:
                self.failed = node
