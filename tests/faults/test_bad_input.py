"""Fault families: bad answers files and malformed product files on a host.

- generated answers (hypothesis, 500 cases, in-process ``parse_answers``): a valid
  example of a random pattern, broken in 1-3 ways (keys dropped, values replaced by
  wrong types, SQL/shell metacharacters, huge or empty strings, unknown keys, the text
  truncated or garbled). Each case either validates (and then plans) or is a
  ``WizardError`` with exit code 2, a location and a fix; never another exception, and
  a plain-text password put in a secret field never shows in the message.
- answers files through the real CLI (subprocess): truncated, empty, binary, NUL bytes,
  bad YAML, latin-1, a directory, a missing file, a huge file, a YAML alias bomb: exit 2,
  ``error: ...`` and ``fix: ...`` on stderr, no traceback, no hang.
- malformed XML on a host: ``FileEditHandler`` over ``LocalTransport`` on a temporary
  product home; the step fails naming ``host:path:line:col`` and the file, its folder
  (no backup, no temporary file) and its mode stay as they were.
"""

from __future__ import annotations

import copy
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.answers import parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import pattern_ids
from wizard.connectors.local import LocalTransport
from wizard.errors import EXIT_BAD_INPUT, EXIT_STEP_FAILED, WizardError
from wizard.executor import Executor, RunContext
from wizard.plan import Plan, Step
from wizard.planning.build import plan as make_plan
from wizard.steps.files import FileEditHandler

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {pid: yaml.safe_load(example_yaml(pid)) for pid in pattern_ids()}
PLAINTEXT = "Pl4in-S3cret-never-shown"

# ----------------------------------------------------------------- generated answers

NASTY = [
    "",
    " ",
    "x" * 5000,
    "am`; DROP DATABASE mysql; --",
    "a' OR '1'='1",
    '"; rm -rf / #',
    "$(reboot)",
    "../../etc/passwd",
    "\x00",
    "caf\u00e9",
    "\u202e",
    "env:",
    "file:",
    "127.0.0.1; id",
    "-1",
    "99999999999999999999",
]
scalars = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    return _get(doc, path[:-1])


@st.composite
def broken_answers(draw: st.DrawFn) -> tuple[str, bool]:
    """(answers text, whether a plain-text password was planted in a secret field)."""
    doc = copy.deepcopy(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    planted = False
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        kind = draw(st.sampled_from(["drop", "replace", "add", "secret", "nodes"]))
        if kind == "drop" and paths:
            path = draw(st.sampled_from(paths))
            del _parent(doc, path)[path[-1]]
        elif kind == "replace" and paths:
            path = draw(st.sampled_from(paths))
            _parent(doc, path)[path[-1]] = draw(values)
        elif kind == "add":
            maps = [()] + [p for p in paths if isinstance(_get(doc, p), dict)]
            target = _get(doc, draw(st.sampled_from(maps)))
            target[draw(st.sampled_from(["typo", "pasword", "nodez", "x-extra"]))] = draw(values)
        elif kind == "secret":
            secret_paths = [p for p in paths if p[-1] in ("password", "admin_password")]
            if secret_paths:
                path = draw(st.sampled_from(secret_paths))
                _parent(doc, path)[path[-1]] = PLAINTEXT
                planted = True
        elif kind == "nodes" and isinstance(doc.get("nodes"), list) and doc["nodes"]:
            doc["nodes"] = doc["nodes"] * draw(st.integers(0, 3))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    mangle = draw(st.sampled_from(["none", "none", "truncate", "insert"]))
    if mangle == "truncate" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif mangle == "insert" and text:
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at] + draw(st.sampled_from(["\t", ": :", "- [", "&a *b", "{", "'"])) + text[at:]
        )
    return text, planted and PLAINTEXT in text


def test_generated_broken_answers_give_a_clear_error(family, record_property) -> None:
    family("bad answers (generated, in-process)")
    seen = {"cases": 0, "errors": 0}

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(broken_answers())
    def check(case: tuple[str, bool]) -> None:
        text, planted = case
        seen["cases"] += 1
        try:
            answers, pattern = parse_answers(text, "answers.yaml")
        except WizardError as exc:
            seen["errors"] += 1
            assert exc.exit_code == EXIT_BAD_INPUT
            shown = exc.render()
            assert shown.startswith("answers.yaml"), shown  # where: the file (and line)
            assert "\n  fix: " in shown, shown
            assert PLAINTEXT not in shown, shown
            return
        assert not planted, "a plain-text password in a secret field was accepted"
        try:  # the case was still valid: it must plan
            make_plan(answers, pattern)
        except WizardError as exc:
            assert exc.exit_code == EXIT_BAD_INPUT
            assert PLAINTEXT not in exc.render()

    check()
    record_property("fault_cases", seen["cases"])
    assert seen["cases"] >= 500
    assert seen["errors"] >= seen["cases"] // 2  # most broken files are refused


# ----------------------------------------------------------------- through the CLI

# only a hang fails: a loaded machine starts the CLI slowly (18 s seen at load 26)
CLI_TIMEOUT = 120.0
MEMORY_LIMIT = 1 << 30  # bytes of address space for the child


def _alias_bomb() -> str:
    levels = ["lol"] + [chr(ord("a") + i) for i in range(9)]
    text = 'lol: &lol "lol"\n'
    for prev, name in zip(levels, levels[1:], strict=False):
        text += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    return text


def _huge(example: str) -> str:
    return example + ("# " + "x" * 98 + "\n") * 200_000  # 20 MB, the rest is comments


CASES: dict[str, Callable[[Path, str], Path]] = {
    "truncated": lambda d, ex: _write(d / "t.yaml", ex[: len(ex) // 3].encode()),
    "empty": lambda d, ex: _write(d / "e.yaml", b""),
    "binary": lambda d, ex: _write(d / "b.yaml", bytes(range(256)) * 16),
    "nul bytes": lambda d, ex: _write(d / "n.yaml", b"pattern: apim-all-in-one\n\x00\x00\n"),
    "bad yaml": lambda d, ex: _write(d / "y.yaml", b"pattern: [apim\nnodes:\n\t- x\n"),
    "latin-1": lambda d, ex: _write(
        d / "l.yaml", ex.replace("#", "# caf\u00e9", 1).encode("latin-1")
    ),
    "a directory": lambda d, ex: _mkdir(d / "dir.yaml"),
    "missing file": lambda d, ex: d / "nowhere.yaml",
    "list at the top": lambda d, ex: _write(d / "list.yaml", b"- pattern: apim-all-in-one\n"),
}
SLOW_CASES: dict[str, Callable[[Path, str], Path]] = {
    "huge file": lambda d, ex: _write(d / "huge.yaml", _huge(ex).encode()),
    "alias bomb": lambda d, ex: _write(d / "bomb.yaml", _alias_bomb().encode()),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, float]]:
    """Run every CLI case at once (they are independent): name -> (exit, stderr, seconds)."""
    folder = tmp_path_factory.mktemp("bad-answers")
    example = example_yaml("apim-all-in-one")
    procs = {}
    for name, make in {**CASES, **SLOW_CASES}.items():
        path = make(folder, example)
        procs[name] = (
            subprocess.Popen(
                [sys.executable, "-m", "wizard", "plan", "--answers", str(path)],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_limit_memory,
            ),
            time.monotonic(),
        )
    out = {}
    deadline = time.monotonic() + CLI_TIMEOUT
    for name, (proc, started) in procs.items():
        try:
            _, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            out[name] = (-1, f"(no answer within {CLI_TIMEOUT:g} s)\n{err}", CLI_TIMEOUT)
            continue
        out[name] = (proc.returncode, err, time.monotonic() - started)
    return out


def _assert_clear_refusal(result: tuple[int, str, float]) -> None:
    code, err, _seconds = result
    assert code == EXIT_BAD_INPUT, err
    assert err.startswith("error: "), err
    assert "\n  fix: " in err, err
    assert "Traceback" not in err, err


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_refuses_a_bad_answers_file(case: str, cli_results, family) -> None:
    family("bad answers files (CLI)")
    _assert_clear_refusal(cli_results[case])


def test_cli_refuses_a_huge_answers_file(cli_results, family) -> None:
    family("bad answers files (CLI)")
    _assert_clear_refusal(cli_results["huge file"])


def test_cli_refuses_a_yaml_alias_bomb(cli_results, family) -> None:
    family("bad answers files (CLI)")
    _assert_clear_refusal(cli_results["alias bomb"])


# ----------------------------------------------------------------- malformed XML on a host

CARBON = REPO / "tests" / "unit" / "fixtures" / "edits" / "carbon.xml"
EDITS = [{"op": "set", "locator": "/c:Server/c:Ports/c:Offset", "value": "3"}]


def _malformed(good: bytes) -> dict[str, bytes]:
    root_end = good.rindex(b"</Server>")
    return {
        "truncated": good[: root_end - 40],
        "cut mid-tag": good[: good.index(b"<Offset>") + 4],
        "mismatched end tag": good.replace(b"</Offset>", b"</Ofset>", 1),
        "unclosed comment": good.replace(b"-->", b"--", 1),
        "two roots": good + b"<Server/>\n",
        "garbage": bytes(range(1, 200)),
        "empty": b"",
        "undefined entity": good.replace(b"<Offset>0", b"<Offset>&nope;", 1),
    }


@pytest.fixture
def product_home(tmp_path: Path) -> Path:
    home = tmp_path / "wso2am-2.6.0"
    (home / "repository" / "conf").mkdir(parents=True)
    return home


def _step(path: Path) -> Step:
    return Step(
        id=f"local:file_edit:{path.name}",
        kind="file_edit",
        host="local",
        description=f"edit {path.name}",
        inputs={"path": str(path), "edits": EDITS},
    )


def _context() -> RunContext:
    transport = LocalTransport()
    return RunContext(session_id="fault", transport=lambda host: transport)


@pytest.mark.parametrize("case", sorted(_malformed(CARBON.read_bytes())))
def test_malformed_xml_fails_the_step_and_leaves_the_file(
    case: str, product_home: Path, family
) -> None:
    family("malformed product files")
    data = _malformed(CARBON.read_bytes())[case]
    conf = product_home / "repository" / "conf"
    target = conf / "carbon.xml"
    target.write_bytes(data)
    os.chmod(target, 0o640)
    before = (sorted(p.name for p in conf.iterdir()), target.stat().st_mode)

    handler = FileEditHandler()
    with pytest.raises(WizardError) as info:
        handler.apply(_step(target), _context())
    err = info.value
    assert err.exit_code in (EXIT_BAD_INPUT, EXIT_STEP_FAILED)
    assert err.where.file and err.where.file.endswith("carbon.xml"), err.render()
    assert err.where.host == "local", err.render()
    if data:  # an empty file has no line to point at
        assert err.where.line is not None, err.render()
    assert target.read_bytes() == data  # untouched
    assert (sorted(p.name for p in conf.iterdir()), target.stat().st_mode) == before


def test_malformed_xml_through_the_executor_fails_only_its_step(product_home: Path, family) -> None:
    family("malformed product files")
    conf = product_home / "repository" / "conf"
    bad, good = conf / "carbon.xml", conf / "carbon-good.xml"
    broken = _malformed(CARBON.read_bytes())["mismatched end tag"]
    bad.write_bytes(broken)
    good.write_bytes(CARBON.read_bytes())
    plan = Plan(pattern="fault", steps=[_step(bad), _step(good)])
    events: list[Any] = []
    summary = Executor(
        plan, {"file_edit": FileEditHandler()}, context=_context(), on_event=events.append
    ).run()
    assert (summary.failed, summary.changed) == (1, 1), summary.line()
    failed = [e for e in events if e.state == "failed"]
    assert len(failed) == 1 and "carbon.xml:" in failed[0].message, failed
    assert bad.read_bytes() == broken
    assert b"<Offset>3</Offset>" in good.read_bytes()
