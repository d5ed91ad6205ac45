"""Fault family: secrets on screen. Pilot drives a full lab run of the Textual wizard
(test connection, test SSH, a ``prompt`` password typed into its dialog, review with
diffs, run to running nodes, done) with known passwords; every screen seen is exported
(SVG, and its text) on each change, and no capture holds a password nor its base64.

The lab's secret files hold random passwords, so a hit is never a coincidence; a control
capture with a password on screen proves the scan would see one.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Log, Static

from screens.app import WizardApp
from screens.done import DoneScreen
from screens.form import FormScreen
from screens.password import PasswordScreen
from screens.patterns import PatternScreen
from screens.review import ReviewScreen
from screens.run import RunScreen
from wizard.catalog import pattern_ids
from wizard.lab.answers import STOCK_TRUSTSTORE_PASSWORD

pytestmark = pytest.mark.lab
PATTERN = "apim-active-passive"
FAMILY = "secrets on screen (TUI screenshots)"
SECRET_FILES = ("db-app", "carbon-admin", "keystore", "truststore")


@pytest.fixture
def lab(ui_lab: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A 4-host lab of this test's own (tests/conftest.py's ``ui_lab``)."""
    return ui_lab()


def svg_text(svg: str) -> str:
    """The text of a Textual SVG screenshot, one terminal row per line."""
    rows: dict[int, list[str]] = defaultdict(list)
    pattern = r'<text[^>]*?clip-path="url\(#[^)]*?-line-(\d+)\)"[^>]*>(.*?)</text>'
    for m in re.finditer(pattern, svg, re.S):
        rows[int(m.group(1))].append(html.unescape(m.group(2)))
    return "\n".join("".join(rows[k]) for k in sorted(rows))


def needles(secrets: dict[str, str]) -> dict[str, str]:
    """Each secret, and its base64 (with and without padding, standard and URL-safe)."""
    out: dict[str, str] = {}
    for name, value in secrets.items():
        out[name] = value
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            b64 = enc(value.encode()).decode()
            out[f"{name} (base64)"] = b64
            out[f"{name} (base64, unpadded)"] = b64.rstrip("=")
    return out


def hits(capture: str, found: dict[str, str]) -> list[str]:
    text = svg_text(capture)
    flat = text.replace("\n", "")
    return [n for n, v in found.items() if v in capture or v in text or v in flat]


class Camera:
    """Exports the screen whenever it changes (the screen, its status line, a dialog),
    and every second while nothing else changes; keeps the SVG and its text on disk."""

    def __init__(self, app: WizardApp, out: Path) -> None:
        self.app = app
        self.out = out
        self.shots: list[tuple[str, str]] = []  # (label, svg)
        self.screens: set[str] = set()
        self._last_key: tuple[Any, ...] = ()
        self._last_time = 0.0

    def _key(self) -> tuple[Any, ...]:
        screen = self.app.screen
        texts = tuple(str(w.render()) for w in screen.query(Static) if w.id)
        values = tuple(w.value for w in screen.query(Input))
        return (id(screen), texts, values)

    def shoot(self, why: str) -> None:
        name = type(self.app.screen).__name__
        svg = self.app.export_screenshot(title=f"{name} {why}")
        label = f"{len(self.shots):03d}-{name}-{why}"
        (self.out / f"{label}.svg").write_text(svg)
        (self.out / f"{label}.txt").write_text(svg_text(svg))
        self.shots.append((label, svg))
        self.screens.add(name)

    def tick(self) -> None:
        key = self._key()
        now = time.monotonic()
        if key != self._last_key:
            self.shoot("change")
        elif now - self._last_time > 1.0:
            self.shoot("tick")
        else:
            return
        self._last_key, self._last_time = key, now

    async def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a screen mid-change: next tick
                pass
            await asyncio.sleep(0.1)


class ControlScreen(Screen[None]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(f"control: {self.text}", id="control")


def _status(app: WizardApp) -> str:
    texts = [str(w.render()) for w in app.screen.query(Static) if "status" in (w.id or "")]
    return f"{type(app.screen).__name__}: {' | '.join(texts)}"


async def _until(
    pilot: Any, app: WizardApp, predicate: Callable[[], bool], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}: {_status(app)}"
            )
        await pilot.pause(0.05)


async def _settled(pilot: Any, app: WizardApp) -> None:
    """Every worker but the wizard's flow done, their messages handled, the screen
    refreshed: what the user sees once the screen stops changing."""
    busy = [w for w in app.workers if w.group != "flow"]
    if busy:
        await app.workers.wait_for_complete(busy)
    await pilot.wait_for_scheduled_animations()


def _log(app: WizardApp) -> str:
    return "\n".join(app.screen.query_one("#plan", Log).lines)


def _form_status(app: WizardApp) -> str:
    return str(app.screen.query_one("#form-status", Static).render())


async def test_no_password_in_any_screenshot_of_a_full_run(
    lab: dict[str, Any], tmp_path: Path, family: Callable[[str], None], record_property: Any
) -> None:
    family(FAMILY)
    secrets = {"db-admin": Path(lab["db"]["password_file"]).read_text().strip()}
    for name in SECRET_FILES:
        value = Path(lab["dir"], "secrets", f"{name}.password").read_text().strip()
        if value and value != STOCK_TRUSTSTORE_PASSWORD:  # the stock one is public
            secrets[name] = value
    assert len(secrets) >= 4, secrets.keys()
    found = needles(secrets)
    typed = secrets["carbon-admin"]

    shots = tmp_path / "shots"
    shots.mkdir()
    app = WizardApp(lab_dir=Path(lab["dir"]), session_dir=str(tmp_path / "s"))
    camera = Camera(app, shots)
    async with app.run_test(size=(100, 30)) as pilot:
        task = asyncio.get_running_loop().create_task(camera.run())
        try:
            await _until(pilot, app, lambda: bool(app.screen.query("#menu")), 30, "welcome")
            await _settled(pilot, app)  # the lab checked: the welcome screen as it stays
            camera.shoot("checked")
            await pilot.press("enter")
            await _until(pilot, app, lambda: isinstance(app.screen, PatternScreen), 30, "patterns")
            await pilot.press(*["down"] * pattern_ids().index(PATTERN), "enter")
            await _until(pilot, app, lambda: isinstance(app.screen, FormScreen), 30, "product")
            assert app.draft is not None
            app.draft.data["admin"]["password"] = "prompt"  # typed into the dialog
            for _ in range(10):  # every answers page; test connection and SSH on the way
                page = app.screen
                if not isinstance(page, FormScreen):
                    break
                if page.page.id in ("database", "hosts"):
                    await pilot.press("ctrl+t")
                    ok = "privileges OK" if page.page.id == "database" else ": OK"
                    await _until(pilot, app, lambda o=ok: o in _form_status(app), 60, ok)
                    camera.shoot("checked")
                await pilot.press("ctrl+n")
                await _until(pilot, app, lambda p=page: app.screen is not p, 30, "Next")

            await _until(pilot, app, lambda: isinstance(app.screen, PasswordScreen), 60, "ask")
            await pilot.press(*typed[:3])
            camera.shoot("typing")
            await pilot.press(*typed[3:], "enter")
            await _until(
                pilot,
                app,
                lambda: isinstance(app.screen, ReviewScreen) and app.screen.ready,
                120,
                "the review",
            )
            camera.shoot("plan")
            await pilot.press("d")
            await _until(pilot, app, lambda: "+++ " in _log(app), 30, "the diffs")
            await _settled(pilot, app)
            camera.shoot("diffs")
            await pilot.press("ctrl+n")
            await _until(pilot, app, lambda: isinstance(app.screen, RunScreen), 30, "the run")
            run = app.screen
            assert isinstance(run, RunScreen)
            await _until(pilot, app, lambda: run.finished is not None, 300, "the run to end")
            assert run.finished, _status(app)
            await _settled(pilot, app)  # the end state painted
            camera.shoot("finished")
            await pilot.press("ctrl+n")
            await _until(pilot, app, lambda: isinstance(app.screen, DoneScreen), 30, "done")
            await _settled(pilot, app)
            camera.shoot("done")

            task.cancel()  # the control is not one of the wizard's screens
            app.push_screen(ControlScreen(typed))  # the scan sees a password on screen
            await _until(
                pilot,
                app,
                lambda: "control:" in svg_text(app.export_screenshot()),
                30,
                "the control screen",
            )
            control = app.export_screenshot()
        finally:
            task.cancel()
        await pilot.press("ctrl+q")

    assert hits(control, found) == ["carbon-admin"], "the scan cannot see a password"
    expected = {
        "WelcomeScreen",
        "PatternScreen",
        "FormScreen",
        "PasswordScreen",
        "ReviewScreen",
        "RunScreen",
        "DoneScreen",
    }
    assert expected <= camera.screens, camera.screens
    leaks = {label: h for label, svg in camera.shots if (h := hits(svg, found))}
    record_property("fault_cases", len(camera.shots))
    print(
        f"screenshots: {len(camera.shots)} captures of {len(camera.screens)} screens, "
        f"{len(found)} needles ({len(secrets)} passwords), saved in {shots}"
    )
    assert not leaks, f"passwords on screen: {leaks}"
