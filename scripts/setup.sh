#!/usr/bin/env bash
# Set up the project's virtual environment (idempotent, quick when nothing changed).
#   bash scripts/setup.sh [EXTRAS]     e.g. EXTRAS=test or test,bench, or gpu on a CUDA rig
# torch: when the venv has no torch, torch==2.13.0 is installed first (on these
# machines that is a local CPU build; any other spelling pulls GBs of CUDA wheels).
# On a CUDA rig, install the torch build you want into .venv before running this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REALM_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
EXTRAS="${1:-}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python >= 3.11 is needed ($PY is $("$PY" -V 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  echo "setup: installing torch 2.13.0 (CPU build)"
  "${PIP[@]}" install -q "torch==2.13.0"
fi

STAMP="$VENV/.realm-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-${EXTRAS}"
if [ ! -f "$STAMP" ] || ! grep -qx -- "$WANT" "$STAMP"; then
  echo "setup: installing realm-of-training${EXTRAS:+ [$EXTRAS]}"
  "${PIP[@]}" install -q -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  echo "$WANT" >> "$STAMP"
fi

# flash-attn (optional, CUDA only) is built against the torch already in the venv, so it
# cannot be an ordinary extra: pip's isolated build would not see torch. Its own step, with
# --no-build-isolation; a failed build leaves training on sdpa (`realm doctor` says which).
if [[ ",$EXTRAS," == *",gpu,"* ]] && ! "$VENV/bin/python" -c 'import flash_attn' >/dev/null 2>&1; then
  if "$VENV/bin/python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    echo "setup: building flash-attn against the installed torch (several minutes)"
    "${PIP[@]}" install -q ninja packaging
    if ! MAX_JOBS="${MAX_JOBS:-4}" "${PIP[@]}" install -q --no-build-isolation "flash-attn>=2.6"; then
      echo "setup: flash-attn did not build; training uses sdpa (see \`realm doctor\`)" >&2
    fi
  else
    echo "setup: no CUDA GPU visible to torch: flash-attn skipped (it runs on CUDA only)"
  fi
fi
