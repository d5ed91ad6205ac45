"""The wizard's questions, shared by both front ends (Textual and ``--plain``).

One source: :func:`pages` lists, for a pattern and the answers so far, the pages of
questions in order; each question names the answer path it edits. A :class:`Draft` holds
the answers being collected as a plain dict, validates them with the answers model's own
messages (:func:`wizard.answers.parse_answers`), and keeps typed-in passwords in memory only:
the saved answers get the reference ``prompt`` instead.

No UI imports here: the front ends render these definitions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml

from wizard.answers import AnswersError, parse_answers
from wizard.answers.example import example_yaml
from wizard.catalog import load_pattern
from wizard.catalog.model import Pattern
from wizard.errors import WizardError
from wizard.questions import nodes as nodes_ops
from wizard.questions.advanced import advanced_page
from wizard.questions.base import (
    Page,
    Question,
    coerce,
    display,
    get_path,
    looks_like_reference,
    set_path,
)
from wizard.questions.model import ask
from wizard.secrets import MASK, Secret, is_reference

__all__ = [
    "FORM_PAGES",
    "SCREENS",
    "Draft",
    "Page",
    "Question",
    "coerce",
    "display",
    "draft_from_yaml",
    "get_path",
    "looks_like_reference",
    "new_draft",
    "pages",
    "set_path",
]

# Screen ids, in flow order; a session's meta.screen holds one of them.
SCREENS = (
    "pattern",
    "product",
    "database",
    "hosts",
    "certs",
    "advanced",
    "review",
    "run",
    "done",
)
FORM_PAGES = ("product", "database", "hosts", "certs", "advanced")


def _product(pattern: Pattern) -> Page:
    qs = [
        ask("product.version", choices=tuple(pattern.versions)),
        ask("product.home"),
        ask("product.java_home"),
        ask("product.driver_jar"),
    ]
    for name, o in pattern.options.items():
        kind = {"int": "int", "bool": "bool"}.get(o.type, "text")
        qs.append(Question(f"options.{name}", o.help or name, kind, optional=not o.required))
    return Page(
        "product",
        "Product and paths",
        f"{pattern.title}: which version, and where it is unpacked on every host.",
        tuple(qs),
    )


def _database(pattern: Pattern) -> Page:
    qs = [
        ask("db.host"),
        ask("db.port"),
        ask("db.admin_user"),
        ask("db.admin_password"),
        ask("db.user"),
        ask("db.password"),
    ]
    for key, spec in pattern.databases.items():
        qs.append(ask(f"db.databases.{key}.name", f"Database for {key} ({spec.name})"))
    return Page(
        "database",
        "Database",
        "The MySQL/MariaDB server; the wizard creates the databases and runs the scripts.",
        tuple(qs),
        action="test_db",
    )


def _ssh(at: str, prefix: str) -> list[Question]:
    return [
        ask(f"{at}.ssh.user", prefix=prefix),
        ask(f"{at}.ssh.port", prefix=prefix),
        ask(f"{at}.ssh.key", prefix=prefix),
        ask(f"{at}.ssh.password", prefix=prefix),
    ]


def _hosts(pattern: Pattern, data: dict[str, Any]) -> Page:
    qs: list[Question] = []
    for i, node in enumerate(data.get("nodes") or []):
        role = pattern.roles.get(str(node.get("role")))
        prefix = f"{node.get('name')}: "
        role_label = role.label if role else node.get("role")
        qs += [
            ask(f"nodes.{i}.address", prefix=prefix, help=f"{role_label}: IP address or DNS name"),
            *_ssh(f"nodes.{i}", prefix),
            ask(f"nodes.{i}.home", prefix=prefix),
        ]
    if pattern.lb_role:
        qs += [ask("lb.address", prefix="lb: "), *_ssh("lb", "lb: ")]
    intro = "One host per role. Host keys are checked; new ones are confirmed in one batch."
    ranged = nodes_ops.ranged_roles(pattern)
    if ranged:
        have = nodes_ops.counts(pattern, data)
        sizes = ", ".join(
            f"{r} {have[r]} of {pattern.roles[r].min}-{pattern.roles[r].max}" for r in ranged
        )
        intro = f"One host per node ({sizes} nodes: add or remove). Host keys are checked."
    return Page("hosts", "Hosts", intro, tuple(qs), action="test_ssh")


def _certs(pattern: Pattern) -> Page:
    qs: list[Question] = []
    if pattern.lb_role:
        qs += [ask("lb.hostname"), ask("lb.https_port"), ask("lb.http_port")]
    qs += [
        ask("keystore.replace"),
        ask("keystore.password"),
        ask("truststore.password"),
        ask("admin.user"),
        ask("admin.password"),
    ]
    lb = " and load balancer" if pattern.lb_role else ""
    return Page("certs", f"Certificates{lb}", "Keystores, TLS and the admin account.", tuple(qs))


def pages(pattern: Pattern, data: dict[str, Any]) -> list[Page]:
    """The question pages for ``pattern``, in order (hosts follow the draft's nodes)."""
    return [
        _product(pattern),
        _database(pattern),
        _hosts(pattern, data),
        _certs(pattern),
        advanced_page(pattern, data),
    ]


# -- the draft -----------------------------------------------------------------------


@dataclass
class Draft:
    """The answers being collected. ``memory`` holds typed-in passwords for this process."""

    data: dict[str, Any]
    memory: dict[str, Secret] = field(default_factory=dict)
    _problems: dict[str, list[str]] | None = field(default=None, repr=False)
    _general: list[str] = field(default_factory=list, repr=False)

    @property
    def pattern_id(self) -> str:
        return str(self.data.get("pattern", ""))

    @property
    def pattern(self) -> Pattern:
        return load_pattern(self.pattern_id)

    def pages(self) -> list[Page]:
        return pages(self.pattern, self.data)

    def page(self, page_id: str) -> Page:
        return next(p for p in self.pages() if p.id == page_id)

    def questions(self) -> dict[str, Question]:
        return {q.key: q for p in self.pages() for q in p.questions}

    # values ----------------------------------------------------------------------
    def value(self, key: str) -> str:
        """The text to show for ``key``: a typed-in password shows as its mask, an absent
        answer its question's default (what the model uses then)."""
        if key in self.memory:
            return MASK
        current = get_path(self.data, key)
        if current is None:
            q = self.questions().get(key)
            return q.default if q is not None else ""
        return display(current)

    def set(self, key: str, text: str) -> None:
        q = self.questions().get(key) or Question(key, key)
        if q.kind == "secret":
            t = text.strip()
            if t in ("", MASK) and key in self.memory:
                return  # blank (or the mask) keeps the password typed in before
            if t and not is_reference(t):
                self.memory[key] = Secret(t, "prompt")
                set_path(self.data, key, "prompt")
                self._problems = None
                return
            self.memory.pop(key, None)
        set_path(self.data, key, coerce(q, text))
        self._problems = None

    def prompter(self, ask: Any = None) -> Any:
        """A :data:`wizard.secrets.Prompter`: typed-in passwords first, then ``ask``."""

        def prompt(field_path: str, label: str) -> str:
            if field_path in self.memory:
                return self.memory[field_path].reveal()
            if ask is None:
                raise WizardError(
                    f"{field_path} is to be asked, and nothing can ask for it here",
                    fix=f"give {field_path} as env:NAME or file:PATH",
                )
            value = str(ask(field_path, label))
            self.memory[field_path] = Secret(value, "prompt")
            return value

        return prompt

    # nodes of roles with a range of counts ----------------------------------------
    def growable_roles(self) -> list[str]:
        """Roles that can take another node."""
        return nodes_ops.can_grow(self.pattern, self.data)

    def shrinkable_roles(self) -> list[str]:
        """Roles that can lose a node."""
        return nodes_ops.can_shrink(self.pattern, self.data)

    def can_remove(self, index: int) -> bool:
        nodes = self.data.get("nodes") or []
        return 0 <= index < len(nodes) and nodes[index].get("role") in self.shrinkable_roles()

    def add_node(self, role: str) -> str:
        """Add a node of ``role`` (a copy of its last one, ports kept apart); its name."""
        index = nodes_ops.add_node(self.pattern, self.data, role)
        self._shift_memory(index, +1)
        self._problems = None
        return str(self.data["nodes"][index]["name"])

    def remove_node(self, name: str) -> None:
        """Remove node ``name`` (refused below its role's minimum)."""
        index = nodes_ops.remove_node(self.pattern, self.data, name)
        self._shift_memory(index, -1)
        self._problems = None

    def _shift_memory(self, index: int, by: int) -> None:
        """Keep typed-in answers under ``nodes.N.`` with their node when indexes move."""
        moved: dict[str, Secret] = {}
        for key, value in self.memory.items():
            parts = key.split(".")
            if parts[0] == "nodes" and len(parts) > 1 and parts[1].isdigit():
                i = int(parts[1])
                if by < 0 and i == index:
                    continue  # the removed node's
                if i >= index + (1 if by < 0 else 0):
                    parts[1] = str(i + by)
            moved[".".join(parts)] = value
        self.memory = moved

    # validation ------------------------------------------------------------------
    def yaml(self) -> str:
        """The answers as YAML: references only, never a typed-in password."""
        return yaml.safe_dump(self.data, sort_keys=False, default_flow_style=False)

    def _check(self) -> dict[str, list[str]]:
        if self._problems is None:
            self._problems, self._general = {}, []
            try:
                parse_answers(self.yaml(), "answers")
            except AnswersError as exc:
                for p in exc.problems:
                    text = p.message + (f" (fix: {p.fix})" if p.fix else "")
                    self._problems.setdefault(p.path, []).append(text)
            except WizardError as exc:
                self._general.append(exc.what)
        return self._problems

    def problem(self, key: str) -> str | None:
        """The model's message for the answer at ``key`` (and its items, for a list), or
        None when it is fine."""
        probs = self._check()
        msgs = list(probs.get(key, []))
        for path, more in probs.items():
            item = path.removeprefix(key + ".")
            if item != path and item.isdigit():
                msgs += [f"item {int(item) + 1}: {m}" for m in more]
        return "; ".join(msgs) if msgs else None

    def page_problems(self, page: Page) -> list[str]:
        """Every problem on the page's answers (field ones and whole-section ones)."""
        probs = self._check()
        keys = page.keys()
        roots = {k.split(".")[0] for k in keys}
        out = []
        for path, msgs in probs.items():
            if path in keys or any(k.startswith(path + ".") for k in keys) or path in roots:
                out += [f"{path}: {m}" for m in msgs]
            elif any(path.startswith(k + ".") for k in keys):
                out += [f"{path}: {m}" for m in msgs]
        return out

    def all_problems(self) -> list[str]:
        probs = self._check()
        return [*self._general, *(f"{p}: {m}" for p, ms in probs.items() for m in ms)]

    def valid(self) -> bool:
        return not self.all_problems()


def new_draft(pattern_id: str, lab_answers: str | None = None) -> Draft:
    """A draft for ``pattern_id``: the local lab's answers when given, else the example."""
    text = lab_answers if lab_answers is not None else example_yaml(pattern_id)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        data = {}
    data["pattern"] = pattern_id
    return Draft(copy.deepcopy(data))


def draft_from_yaml(text: str) -> Draft:
    data = yaml.safe_load(text) if text.strip() else {}
    return Draft(data if isinstance(data, dict) else {})
