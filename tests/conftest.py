"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab could not start: {reason}")
    pytest.skip(f"the lab could not start: {reason}")


@pytest.fixture
def ui_lab() -> Iterator[Callable[[], dict[str, Any]]]:
    """``make()`` starts a 4-host lab under /tmp (0755); every lab made is torn down."""
    from wizard.lab import labctl

    made: list[Path] = []

    def make() -> dict[str, Any]:
        d = Path(tempfile.mkdtemp(prefix="cw-ui-lab-", dir="/tmp"))
        d.chmod(0o755)
        made.append(d)
        try:
            return labctl.up(d, 4, boot_delay=0.5)
        except Exception as exc:  # noqa: BLE001 - report why, then skip (or fail in CI)
            shutil.rmtree(d, ignore_errors=True)
            made.remove(d)
            _unavailable(f"{type(exc).__name__}: {exc}")
            raise

    yield make
    for d in made:
        labctl.down(d)
