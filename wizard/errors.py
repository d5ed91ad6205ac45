"""The one error type shown to the user, and the exit codes of the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 3


@dataclass
class Where:
    """Where something went wrong: any of host, file, line, column, field path."""

    host: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        loc = ""
        if self.host:
            loc = self.host
        if self.file:
            loc = f"{loc}:{self.file}" if loc else self.file
        if self.line is not None:
            loc = f"{loc}:{self.line}"
            if self.column is not None:
                loc = f"{loc}:{self.column}"
        if loc:
            parts.append(loc)
        if self.field:
            parts.append(f"field {self.field}")
        return " ".join(parts)


@dataclass
class WizardError(Exception):
    """What went wrong, where, and what to do about it.

    ``exit_code`` is what the CLI returns: 2 for bad input, 1 for a failed step,
    3 for an interrupted (resumable) run.
    """

    what: str
    where: Where = field(default_factory=Where)
    fix: str | None = None
    exit_code: int = EXIT_BAD_INPUT

    def __post_init__(self) -> None:
        super().__init__(self.what)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        loc = str(self.where)
        text = f"{loc}: {self.what}" if loc else self.what
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


def bad_input(
    what: str,
    fix: str | None = None,
    *,
    host: str | None = None,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    field: str | None = None,
) -> WizardError:
    return WizardError(what, Where(host, file, line, column, field), fix, EXIT_BAD_INPUT)


def step_failed(
    what: str,
    fix: str | None = None,
    *,
    host: str | None = None,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
    field: str | None = None,
) -> WizardError:
    return WizardError(what, Where(host, file, line, column, field), fix, EXIT_STEP_FAILED)
