"""Questions derived from the answers model: a field's title, description, choices, kind
and default live once, on the model's ``Field`` (wizard/answers/model.py); a page only
says which answer paths it asks, in which order, and what the pattern adds (its version
list, a role's offset). No UI imports here."""

from __future__ import annotations

import types
import typing
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from wizard.answers.model import Answers
from wizard.questions.base import Question, display


def _strip(annotation: Any) -> Any:
    """``X | None`` -> X; ``Annotated[X, ...]`` stays (its metadata tells a secret)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _base(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


@lru_cache(maxsize=256)
def model_field(key: str) -> FieldInfo:
    """The model's field at a dotted answer path (``nodes.0.ssh.port``, ``db.tls.mode``)."""
    model: Any = Answers
    info: FieldInfo | None = None
    for part in key.split("."):
        if get_origin(model) in (list, dict):  # an item: its index or mapping key
            model = _base(_strip(get_args(model)[-1]))
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise KeyError(key)
        info = model.model_fields[part]
        model = _base(_strip(info.annotation))
    if info is None:
        raise KeyError(key)
    return info


def _kind(info: FieldInfo) -> tuple[str, tuple[str, ...]]:
    annotation = _strip(info.annotation)
    base = _base(annotation)
    validators = [*_metadata(annotation), *(m for m in info.metadata if hasattr(m, "func"))]
    if any(m.func.__name__ == "_secret_ref" for m in validators):
        return "secret", ()
    if get_origin(base) is Literal:
        return "choice", tuple(str(a) for a in get_args(base))
    if base is bool:
        return "bool", ()
    if base is int:
        return "int", ()
    if get_origin(base) is list:
        return "list", ()
    return "text", ()


def _metadata(annotation: Any) -> list[Any]:
    out: list[Any] = []
    while get_origin(annotation) is typing.Annotated:
        out.extend(a for a in get_args(annotation)[1:] if hasattr(a, "func"))
        annotation = get_args(annotation)[0]
    return out


def ask(
    key: str,
    label: str | None = None,
    *,
    prefix: str = "",
    help: str | None = None,
    default: str | None = None,
    optional: bool | None = None,
    choices: tuple[str, ...] | None = None,
) -> Question:
    """The question for the answer at ``key``, from the model's field; the arguments
    override it where a page knows better (a node's name as ``prefix``, the pattern's
    versions as ``choices``, a role's offset as ``default``)."""
    info = model_field(key)
    kind, model_choices = _kind(info)
    model_default = info.default if info.default is not PydanticUndefined else None
    if info.default_factory is not None:
        model_default = None
    if choices is not None:
        kind = "choice"
    return Question(
        key,
        prefix + (label or info.title or key),
        kind,
        help=help if help is not None else (info.description or ""),
        choices=choices if choices is not None else model_choices,
        optional=optional if optional is not None else not info.is_required(),
        default=default if default is not None else display(model_default),
    )


def secret_label(path: str) -> str:
    """What to call the secret at an answer path when asking for it: the model's title
    and the path once ("Carbon admin password (admin.password)")."""
    try:
        title = model_field(path).title
    except KeyError:
        title = None
    return f"{title} ({path})" if title else path
