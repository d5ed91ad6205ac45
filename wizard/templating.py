"""One Jinja2 mechanism for catalog values, file templates and messages."""

from __future__ import annotations

import shlex
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wizard.errors import bad_input


@lru_cache(maxsize=1)
def expr_env() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@lru_cache(maxsize=4096)
def _compiled(source: str) -> jinja2.Template:
    return expr_env().from_string(source)


def render_value(source: str, context: dict[str, Any], *, where: str = "") -> str:
    """Render a catalog expression such as ``"{{ db.host }}:{{ db.port }}"``."""
    if "{{" not in source and "{%" not in source:
        return source
    try:
        return _compiled(source).render(context)
    except jinja2.UndefinedError as exc:
        raise bad_input(
            f"catalog value {source!r} refers to a missing answer: {exc.message}",
            field=where or None,
        ) from exc


@lru_cache(maxsize=1)
def file_env() -> ImmutableSandboxedEnvironment:
    loader = jinja2.FileSystemLoader(str(resources.files("templates")))
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shquote"] = lambda v: shlex.quote(str(v))
    return env


def render_file(name: str, context: dict[str, Any]) -> str:
    """Render a whole-file template from ``templates/``."""
    return file_env().get_template(name).render(context)
