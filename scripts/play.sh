#!/usr/bin/env bash
# Set everything up (first run: a few minutes) and start the game on the embedded default.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "${REALM_VENV:-$ROOT/.venv}/bin/realm-tui" "$@"
