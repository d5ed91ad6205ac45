"""Benchmark: validate + plan apim-distributed with 50 nodes, offline.

apim-distributed allows one node per role, so the benchmark widens every node role to
1..50 on an in-memory copy of the pattern (the catalog file is unchanged) and spreads
50 nodes over the five roles, five nodes per address (offsets keep their ports apart).
Target: under 0.5 s. Run: python3 benchmarks/bench_planner.py
"""

from __future__ import annotations

import statistics
import sys
import time

import yaml

from wizard.answers.example import example_yaml
from wizard.answers.model import Answers
from wizard.answers.rules import check
from wizard.catalog import load_pattern
from wizard.catalog.model import CountRange
from wizard.planning.build import plan

PATTERN = "apim-distributed"
NODES = 50
TARGET = 0.5


def answers_data(pattern) -> dict:
    data = yaml.safe_load(example_yaml(PATTERN))
    template = data["nodes"][0]
    roles = pattern.node_roles
    nodes = []
    for i in range(NODES):
        role = roles[i % len(roles)]
        node = dict(template)
        node.update(
            name=f"{role}-{i}",
            role=role,
            address=f"10.0.{i // 5}.{1 + i % 5}",  # 10 addresses, 5 nodes each
            offset=10 * (i % 5),
            member_port=4000 + 10 * (i % 5),
        )
        nodes.append(node)
    data["nodes"] = nodes
    return data


def main() -> int:
    base = load_pattern(PATTERN)
    pattern = base.model_copy(deep=True)
    for r in pattern.node_roles:
        pattern.roles[r].count = CountRange(min=1, max=NODES)
    data = answers_data(pattern)
    times = []
    steps = 0
    for _ in range(5):
        t0 = time.perf_counter()
        answers = Answers.model_validate(data)
        problems = check(answers, pattern)
        if problems:
            print("\n".join(p.render() for p in problems))
            return 2
        result = plan(answers, pattern)
        text = result.to_json()
        times.append(time.perf_counter() - t0)
        steps = len(result.steps)
    best, median = min(times), statistics.median(times)
    print(
        f"{PATTERN}: {NODES} nodes -> {steps} steps, {len(text)} bytes of JSON; "
        f"validate+plan+json best {best:.3f}s, median {median:.3f}s (target < {TARGET}s)"
    )
    return 0 if median < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
