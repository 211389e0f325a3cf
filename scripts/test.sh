#!/usr/bin/env bash
# Set everything up with the test extras and run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" test
cd "$ROOT"
PY="${REALM_VENV:-$ROOT/.venv}/bin/python"
"$PY" -m ruff check --quiet .   # pyflakes + bugbear (pyproject.toml [tool.ruff])
# two workers, whole files each (their module fixtures, a node or a trained model, are built once):
# 11.6 min for the whole suite on the 2-core machine (three workers: 12.7 min, the cores are busy);
# REALM_TEST_WORKERS=0 runs serially
exec "$PY" -m pytest -q -n "${REALM_TEST_WORKERS:-2}" --dist loadfile "$@"
