"""Run the ``carbon-wizard`` CLI with one role of a pattern widened, in memory.

The catalog gives ob-apim-cluster one ``node2``; a benchmark wants one node per lab host.
This module widens the role on the cached pattern object (``wizard.catalog.load_pattern``
is an ``lru_cache``, so every later caller sees the same widened copy) and then runs the
real CLI in this process. The catalog files are unchanged.

    python3 -m benchmarks.widen ob-apim-cluster:node2=15 -- --session-dir D apply ...
"""

from __future__ import annotations

import sys

from wizard.catalog import load_pattern


def widen(spec: str) -> None:
    """``PATTERN:ROLE=COUNT``: give ROLE exactly COUNT nodes in PATTERN (in memory only)."""
    pattern_id, _, rest = spec.partition(":")
    role, _, count = rest.partition("=")
    pattern = load_pattern(pattern_id)
    if role not in pattern.roles or not count.isdigit():
        raise SystemExit(f"bad widen spec {spec!r}: PATTERN:ROLE=COUNT with a known role")
    pattern.roles[role].count = int(count)


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit("usage: python3 -m benchmarks.widen SPEC [SPEC..] -- CLI ARGS")
    cut = argv.index("--")
    for spec in argv[:cut]:
        widen(spec)
    from wizard.cli import main as cli_main

    return cli_main(argv[cut + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
