"""``carbon-wizard answers example PATTERN``: a commented answers file that validates."""

from __future__ import annotations

from typing import Any

import yaml

from wizard.catalog import load_pattern
from wizard.catalog.model import Pattern
from wizard.templating import render_file

TEMPLATE = "answers-example.yaml.j2"


def example_nodes(pattern: Pattern) -> list[dict[str, Any]]:
    """One node per required slot of each node role (at least one), each on its own address."""
    nodes: list[dict[str, Any]] = []
    for role in pattern.node_roles:
        spec = pattern.roles[role]
        count = max(spec.min, 1)
        for i in range(count):
            base = role.replace("_", "-")
            nodes.append(
                {
                    "name": base if count == 1 else f"{base}{i + 1}",
                    "role": role,
                    "label": spec.label,
                    "address": f"192.0.2.{11 + len(nodes)}",
                    "offset": spec.offset,
                }
            )
    return nodes


def _yaml_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...")


def example_yaml(pattern_id: str) -> str:
    pattern = load_pattern(pattern_id)
    options = {}
    for name, o in pattern.options.items():
        value = o.example if o.example is not None else o.default
        if value is None:
            value = {"str": "CHANGE-ME", "int": 0, "bool": False, "list": []}[o.type]
        options[name] = {"help": o.help or name, "value": _yaml_scalar(value).strip()}
    hostnames = {}
    if pattern.lb_role and "lb.hostnames" in pattern.model_dump_json():
        hostnames = {r: f"{r.replace('_', '-')}.example.com" for r in pattern.node_roles}
    return render_file(
        TEMPLATE,
        {
            "pattern": pattern,
            "nodes": example_nodes(pattern),
            "lb_role": pattern.lb_role,
            "hostnames": hostnames,
            "options": options,
        },
    )
