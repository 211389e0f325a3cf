#!/usr/bin/env bash
# The GPU proof in one command (see benchmarks/gpu_check.py for the checks):
#   bash benchmarks/gpu_check.sh            # on a CUDA machine: at most 8 minutes
#   bash benchmarks/gpu_check.sh --dry-run  # the same checks on the CPU with nano DIO
# Writes gpu_check.json and gpu_check.md to --out DIR (default $OUT, else a temp folder);
# exits 1 when a check fails. GPU_CHECK_TIMEOUT (seconds, default 480) bounds the whole run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REALM_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  bash "$ROOT/scripts/setup.sh" test
fi
PY="${PYTHON:-$VENV/bin/python}"
"$PY" -c 'import torch; print("gpu_check: torch", torch.__version__, "cuda", torch.cuda.is_available(), "gpus", torch.cuda.device_count())'
exec timeout --signal=TERM --kill-after=20 "${GPU_CHECK_TIMEOUT:-480}" "$PY" "$ROOT/benchmarks/gpu_check.py" "$@"
