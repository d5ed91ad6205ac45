"""What start-up loads: ``carbon-wizard --help`` the command line's declarations only,
none of the libraries or command modules a command needs; the wizard's first screen
Textual and the welcome screen, not the engine (which loads after the first paint). The
speed is measured in benchmarks/bench_startup.py, not here."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
# The screens modules the first paint needs (the others load in a worker after it).
FIRST_PAINT = {
    "screens.app",
    "screens.welcome",
    "screens.host",
    "screens.loading",
    "screens.footer",
    "screens.heap",
}
# Libraries only a command (or the wizard) needs; each costs tens of milliseconds to import.
HEAVY = (
    "textual",
    "rich",
    "questionary",
    "paramiko",
    "lxml",
    "pydantic",
    "jinja2",
    "yaml",
    "cryptography",
    "pymysql",
)


def _loaded_by(code: str) -> list[str]:
    """The modules in sys.modules after ``code`` ran in a fresh interpreter."""
    probe = (
        "import sys\n"
        f"{code}\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return proc.stderr.rpartition("\nLOADED ")[2].split()


def test_help_loads_no_library_and_no_command_module() -> None:
    loaded = _loaded_by(
        "from wizard.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "wizard.cli" in loaded  # the probe ran the command line
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"--help loads {heavy}"
    ours = sorted(m for m in loaded if m.startswith(("wizard.", "screens")))
    assert ours == ["wizard.cli", "wizard.errors", "wizard.secrets"], ours


def test_the_wizard_module_loads_no_engine_before_the_first_paint() -> None:
    loaded = _loaded_by("import screens.app")
    heavy = sorted(m for m in loaded if m.split(".")[0] in set(HEAVY) - {"textual", "rich"})
    assert "textual" in loaded and not heavy, f"screens.app loads {heavy}"
    engine = {"wizard.flow", "wizard.answers", "wizard.catalog", "wizard.questions"}
    assert not engine & set(loaded), sorted(engine & set(loaded))
    assert not [m for m in loaded if m.startswith("screens.") and m not in FIRST_PAINT]


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _loaded_by(
        "from wizard.cli import main\ntry:\n    main(['sessions', '--help'])\n"
        "except SystemExit:\n    pass"
    )
    commands = sorted(m for m in loaded if m.startswith("wizard.cli."))
    assert commands == ["wizard.cli.sessions"], commands


def test_every_declared_command_has_its_arguments() -> None:
    modules = {module for module, _ in COMMANDS.values()}
    for module in modules:
        served = set(importlib.import_module(module).PARSERS)
        declared = {c for c, (m, _) in COMMANDS.items() if m == module}
        assert served == declared, f"{module} serves {served}, declared {declared}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_has_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: carbon-wizard {command}")
