"""Read an answers file: YAML with line numbers, field checks, pattern checks.

Every problem of the file is gathered into one :class:`AnswersError` (a
:class:`~wizard.errors.WizardError`, exit code 2), one line per problem, naming the
field path, the YAML line, the bad value (masked when it is a secret) and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from wizard.answers.model import FIX, SECRET_FIELDS, Answers
from wizard.answers.rules import Problem, check
from wizard.catalog import load_pattern, pattern_ids
from wizard.catalog.model import Pattern
from wizard.errors import EXIT_BAD_INPUT, Where, WizardError
from wizard.secrets import MASK

Path_ = tuple[str | int, ...]


@dataclass
class AnswersError(WizardError):
    problems: list[Problem] = field(default_factory=list)


def _marks(text: str) -> dict[Path_, int]:
    """Answer path -> 1-based line of its YAML node."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    return _node_lines(root)


def _node_lines(root: yaml.Node | None) -> dict[Path_, int]:
    out: dict[Path_, int] = {}

    def walk(node: yaml.Node, path: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                out[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return out


def _fast_load(text: str) -> tuple[Any, dict[Path_, int]] | None:
    """The data and its lines from libyaml, in one pass; None when PyYAML lacks libyaml,
    or the text has anchors, aliases or an error: the pure-Python loader then reports
    them in its words, with their positions, as it always has."""
    loader_cls = getattr(yaml, "CSafeLoader", None)
    if loader_cls is None:
        return None
    try:
        for token in yaml.scan(text, Loader=loader_cls):
            if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
                return None
        loader = loader_cls(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None
    return data, _node_lines(root)


def _line_for(marks: dict[Path_, int], loc: Path_) -> int | None:
    for n in range(len(loc), -1, -1):
        key = tuple(loc[:n])
        if key in marks and key:
            return marks[key]
    return None


def _lookup(data: Any, loc: Path_) -> Any:
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            cur = cur[part]
        else:
            return None
    return cur


def _show(value: Any, loc: Path_) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if loc and (str(loc[-1]) in SECRET_FIELDS or str(loc[-1]).endswith("password")):
        return MASK
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it or check its spelling",
    "int_parsing": "give a whole number",
    "int_type": "give a whole number",
    "bool_parsing": "give true or false",
    "bool_type": "give true or false",
    "string_type": "give a text value",
    "greater_than_equal": None,
    "less_than_equal": None,
    "literal_error": None,
    "string_pattern_mismatch": "use only the characters allowed for this field",
    "too_short": "give at least one entry",
    "dict_type": "give a mapping (key: value lines)",
    "list_type": "give a list (- item lines)",
    "model_type": "give a mapping (key: value lines)",
}


def _pydantic_problems(exc: ValidationError, data: Any) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        msg = str(err["msg"])
        fix = _FIXES.get(err["type"])
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if FIX in msg:
                msg, fix = msg.split(FIX, 1)
        elif err["type"] in ("greater_than_equal", "less_than_equal"):
            limits = err.get("ctx") or {}
            bound = limits.get("ge", limits.get("le"))
            word = "at least" if err["type"] == "greater_than_equal" else "at most"
            fix = f"use a number {word} {bound}"
            if loc and loc[-1] == "offset":
                fix += " (port offsets keep every port, e.g. 10397 + offset, below 65536)"
        elif err["type"] == "literal_error":
            fix = msg.replace("Input should be", "use")
            msg = "not an allowed value"
        value = _lookup(data, loc) if err["type"] != "missing" else None
        out.append(Problem(".".join(str(p) for p in loc), msg, fix, _show(value, loc)))
    return out


def _raise(problems: list[Problem], marks: dict[Path_, int], source: str) -> NoReturn:
    for p in problems:
        if p.line is None and p.path:
            loc = tuple(int(x) if x.isdigit() else x for x in p.path.split("."))
            p.line = _line_for(marks, loc)
    problems.sort(key=lambda p: (p.line or 0, p.path))
    n = len(problems)
    what = f"{n} problem{'s' if n != 1 else ''} in the answers file:\n" + "\n".join(
        f"  - {p.render()}" for p in problems
    )
    raise AnswersError(
        what,
        Where(file=source),
        "correct the fields above; secrets are references (env:NAME, file:/path, prompt); "
        "'carbon-wizard answers example PATTERN' shows a valid file",
        EXIT_BAD_INPUT,
        problems,
    )


MAX_ANSWERS_BYTES = 1024 * 1024


def _refuse_huge(text: str, source: str) -> None:
    """Refuse what an answers file never is: a huge size."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_ANSWERS_BYTES:
        raise WizardError(
            f"the answers file is {size} bytes; the limit is {MAX_ANSWERS_BYTES}",
            Where(file=source),
            "an answers file is a few kilobytes: check that this is the right file",
        )


def _refuse_unsafe_yaml(text: str, source: str) -> None:
    """Refuse what an answers file never needs and a hostile one abuses: YAML
    anchors/aliases (an "alias bomb" of a few hundred bytes expands to gigabytes)."""
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
                raise WizardError(
                    "YAML anchors and aliases (&name / *name) are not allowed in answers files",
                    Where(
                        file=source,
                        line=token.start_mark.line + 1,
                        column=token.start_mark.column + 1,
                    ),
                    "write the values out in full",
                )
    except yaml.YAMLError:
        return  # the parser below reports it with its position


def _reader_error(exc: yaml.YAMLError, text: str, source: str) -> WizardError:
    line = None
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        line = text[:position].count("\n") + 1
    return WizardError(
        f"the answers file is not valid YAML text: {exc}",
        Where(file=source, line=line),
        "save it as UTF-8 text without control characters (NUL bytes, binary data)",
    )


def _slow_load(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """The pure-Python loader: its errors, with their positions, for the admin."""
    _refuse_unsafe_yaml(text, source)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise WizardError(
            f"the answers file is not valid YAML: {exc.problem}",
            Where(
                file=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ),
            "fix the YAML syntax (indentation, quotes, colons)",
        ) from exc
    except yaml.YAMLError as exc:
        raise _reader_error(exc, text, source) from exc
    return data, _marks(text)


def parse_answers(text: str, source: str = "answers") -> tuple[Answers, Pattern]:
    """Validate answers YAML text; return the model and its pattern, or raise AnswersError."""
    _refuse_huge(text, source)
    fast = _fast_load(text)
    data, marks = fast if fast is not None else _slow_load(text, source)
    if not isinstance(data, dict):
        _raise(
            [Problem("", "the answers file must be a mapping (key: value lines)", None)],
            marks,
            source,
        )
    pattern: Pattern | None = None
    pid = data.get("pattern")
    problems: list[Problem] = []
    try:
        answers = Answers.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, data)
    if isinstance(pid, str) and pid in pattern_ids():
        pattern = load_pattern(pid)
    elif "pattern" in data and not any(p.path == "pattern" for p in problems):
        problems.append(
            Problem(
                "pattern",
                "unknown pattern",
                f"use one of: {', '.join(pattern_ids())}",
                _show(pid, ("pattern",)),
            )
        )
    if problems or pattern is None:
        _raise(problems, marks, source)
    assert pattern is not None
    problems = check(answers, pattern)
    if problems:
        _raise(problems, marks, source)
    return answers, pattern


def load_answers(path: str | Path) -> tuple[Answers, Pattern]:
    return parse_answers(read_answers(path), str(path))


def read_answers(path: str | Path) -> str:
    """The text of an answers file, with a clear error when it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WizardError(
            f"cannot read the answers file: {exc.strerror}",
            Where(file=str(p)),
            "give the path of an existing answers file",
        ) from exc
    except UnicodeDecodeError as exc:
        raise WizardError(
            "the answers file is not UTF-8 text", Where(file=str(p)), "save it as UTF-8"
        ) from exc
