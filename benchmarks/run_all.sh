#!/bin/sh
# Run every benchmark and write benchmarks/RESULTS.md (see benchmarks/README.md).
# Needs root (the lab creates host users). Arguments go to `python3 -m benchmarks`.
set -eu
cd "$(dirname "$0")/.."
exec python3 -m benchmarks "$@"
