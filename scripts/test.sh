#!/usr/bin/env bash
# Set everything up with the test extras and run the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" test
cd "$ROOT"
PY="${REALM_VENV:-$ROOT/.venv}/bin/python"
"$PY" -m ruff check --quiet .   # pyflakes + bugbear (pyproject.toml [tool.ruff])
exec "$PY" -m pytest -q "$@"
