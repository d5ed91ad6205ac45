#!/bin/sh
# Run every benchmark and write benchmarks/RESULTS.md (see benchmarks/README.md).
# Needs root (the lab creates host users). Arguments go to `python3 -m benchmarks`, run
# with the project's .venv when there is one (the start-up and UI benchmarks need Textual).
set -eu
cd "$(dirname "$0")/.."
PY=python3
if [ -x .venv/bin/python3 ]; then PY=.venv/bin/python3; fi
exec "$PY" -m benchmarks "$@"
