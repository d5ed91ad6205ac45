from __future__ import annotations

import subprocess
import sys

from wizard import __version__
from wizard.cli import main


def test_version(capsys) -> None:
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wizard", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("lab", "patterns", "answers", "plan", "apply", "resume", "sessions"):
        assert command in out, f"{command} missing from --help"


def test_apply_without_terminal_needs_yes(tmp_path, capsys) -> None:
    from wizard.answers.example import example_yaml

    answers = tmp_path / "answers.yaml"
    answers.write_text(example_yaml("apim-all-in-one"))
    rc = main(["--session-dir", str(tmp_path / "s"), "apply", "--answers", str(answers)])
    assert rc == 2
    assert "--yes" in capsys.readouterr().err


def test_apply_with_missing_answers_file_names_it(tmp_path, capsys) -> None:
    rc = main(["apply", "--answers", str(tmp_path / "missing.yaml")])
    assert rc == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_wizard_without_terminal_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wizard"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr
    assert "Traceback" not in proc.stderr
