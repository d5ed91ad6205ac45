"""Benchmark: the edit engine parses and serializes every stock 2.6.0 XML file (no edit),
the round trip every file edit starts with. Was a time limit in
tests/unit/test_edits_roundtrip.py; the test keeps the byte-for-byte check.

Needs ../shared/wso2-conf (the stock files). Target: the whole set under 2 s (median of
``--rounds``). Run: python3 benchmarks/bench_edits.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wizard.edits.xmlfile import XmlDoc  # noqa: E402

STOCK = REPO / ".." / "shared" / "wso2-conf" / "apim-2.6.0"
TARGET = 2.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    files = sorted(STOCK.rglob("*.xml")) if STOCK.is_dir() else []
    if not files:
        print(f"no stock XML files under {STOCK.resolve()} (../shared is not here)")
        return 1
    blobs = [p.read_bytes() for p in files]
    times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for data in blobs:
            if XmlDoc(data).serialize() != data:
                print("a stock file did not come back byte for byte")
                return 1
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(
        f"{len(files)} stock XML files, {sum(map(len, blobs))} bytes: parse+serialize "
        f"best {min(times):.3f}s, median {median:.3f}s (target < {TARGET}s)"
    )
    return 0 if median < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
