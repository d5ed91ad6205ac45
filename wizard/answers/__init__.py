"""Answers: the typed, validated description of one deployment (see model.py).

``load_answers(path)`` / ``parse_answers(text)`` return ``(Answers, Pattern)`` or raise
:class:`AnswersError` listing every problem with its field path and YAML line.
"""

from __future__ import annotations

from wizard.answers.load import AnswersError, load_answers, parse_answers, read_answers
from wizard.answers.model import Answers, Lb, Node, schema
from wizard.answers.rules import Problem, node_offset

__all__ = [
    "Answers",
    "AnswersError",
    "Lb",
    "Node",
    "Problem",
    "load_answers",
    "node_offset",
    "parse_answers",
    "read_answers",
    "schema",
]
