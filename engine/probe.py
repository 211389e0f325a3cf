"""`python -m engine probe`: what this machine's engine would train with, as one JSON line
(`realm doctor` shows it): versions, GPUs with their compute capability, and the device,
precision and attention a job with these settings resolves to, or why it cannot run."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import torch

from engine.errors import EngineError
from engine.loading import DeviceCaps, flash_attn_import_error, resolve_attention, resolve_device, resolve_precision


def probe(device: str = "auto", precision: str = "auto", attention: str = "auto") -> dict[str, Any]:
    gpus = []
    for i in range(torch.cuda.device_count()):
        caps = DeviceCaps.of(torch.device("cuda", i))
        gpus.append({"index": i, "name": caps.name, "capability": list(caps.capability or ()),
                     "memory_bytes": torch.cuda.get_device_properties(i).total_memory})
    facts: dict[str, Any] = {
        # transformers' version from its metadata: importing it costs `realm doctor` a second
        "torch": torch.__version__, "transformers": version("transformers"), "cuda": torch.cuda.is_available(),
        "gpus": gpus, "flash_attn_error": flash_attn_import_error(), "error": None,
    }
    try:
        dev = resolve_device(device)
        prec = resolve_precision(precision, dev)
        facts.update(device=str(dev), precision=prec, attention=resolve_attention(attention, dev, prec))
    except EngineError as exc:
        facts["error"] = exc.render()
    return facts


def main(device: str, precision: str, attention: str) -> int:
    print(json.dumps(probe(device, precision, attention)))
    return 0
