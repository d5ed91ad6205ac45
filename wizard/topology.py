"""A text picture of a pattern's topology, for both front ends (pure, no UI imports)."""

from __future__ import annotations

from wizard.catalog.model import Pattern


def _count(role_count: object) -> str:
    if isinstance(role_count, int):
        return str(role_count)
    lo, hi = getattr(role_count, "min", 1), getattr(role_count, "max", 1)
    return f"{lo}-{hi}"


def describe_roles(pattern: Pattern) -> list[str]:
    lines = []
    for name, role in pattern.roles.items():
        extra = f", -Dprofile={role.profile}" if role.profile else ""
        offset = f", offset {role.offset}" if role.kind == "node" and role.offset else ""
        lines.append(f"{_count(role.count)} x {role.label} ({name}{offset}{extra})")
    return lines


def picture(pattern: Pattern) -> str:
    """Clients -> load balancer -> nodes -> MySQL, drawn in plain text (fits 80 columns)."""
    lbs = [r for r in pattern.roles.values() if r.kind == "lb"]
    nodes = [(n, r) for n, r in pattern.roles.items() if r.kind == "node"]
    boxes = [f"[{r.label} x{_count(r.count)}]" for _, r in nodes]
    lines = ["clients"]
    lines.append("   |")
    if lbs:
        lines.append("[NGINX load balancer]")
        lines.append("   |")
    row = "  ".join(boxes)
    while len(row) > 76 and len(boxes) > 1:  # wrap onto several rows
        half = (len(boxes) + 1) // 2
        lines.append("  ".join(boxes[:half]))
        boxes = boxes[half:]
        row = "  ".join(boxes)
    lines.append(row)
    if pattern.databases:
        lines.append("   |")
        lines.append(f"[MySQL: {', '.join(d.name for d in pattern.databases.values())}]")
    return "\n".join(lines)
