"""A warm engine: `python -m engine standby --fd N`.

Starting an engine costs seconds before its first step, most of it importing torch and
transformers. The daemon starts the next battle's engine while the current one trains: it
imports everything, then waits on the inherited Unix socket N for its job
(contracts.engine_handover). From then on it is an ordinary `run`: the same events on
stdout, control lines on stdin, and run/engine.lock held through the descriptor it was sent.
"""

from __future__ import annotations

import os
from pathlib import Path


def warm_up() -> None:
    """Import what a training run imports before its first step."""
    import torch  # noqa: F401
    import transformers.models.qwen3.modeling_qwen3  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401

    import engine.distributed  # noqa: F401
    import engine.runner  # noqa: F401
    import engine.trainer  # noqa: F401
    from engine.loading import quiet_transformers

    quiet_transformers()


def log_to(path: Path) -> None:
    """Point stderr (the engine's log) at the battle's own log file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
