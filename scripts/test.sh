#!/usr/bin/env bash
# Set everything up with the test extras and run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" test
cd "$ROOT"
PY="${REALM_VENV:-$ROOT/.venv}/bin/python"
"$PY" -m ruff check --quiet .   # pyflakes + bugbear (pyproject.toml [tool.ruff])
# two workers, whole files each (their module fixtures, a node or a trained model, are built once),
# in collection order, where tests/conftest.py puts the files with slow tests first (xdist's own
# reorder, by test count, started the longest single-test files last): 9.5 min on the 2-core
# machine, both workers ending within a second of each other (11.0 min with the reorder);
# REALM_TEST_WORKERS=0 runs serially
exec "$PY" -m pytest -q -n "${REALM_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
