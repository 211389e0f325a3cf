"""Throughput accounting: model FLOPs per micro-batch, MFU against a peak table, memory."""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass, field

import torch

# Dense bf16 peak TFLOP/s by GPU name fragment (first match wins).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200 NVL", 835.0),
    ("H200", 989.0),
    ("H100 SXM", 989.0),
    ("H100 80GB HBM3", 989.0),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("A100", 312.0),
    ("RTX 4090", 165.2),
    ("RTX 3090", 71.0),
)


@dataclass(frozen=True)
class FlopModel:
    """Training FLOPs: 6 x non-embedding params per token, attention over each example's own
    length (6 x layers x heads x head_dim x len^2, causal), LM head only on supervised tokens."""

    body_params: int
    layers: int
    attn_width: int
    head_params: int

    @staticmethod
    def for_model(model: torch.nn.Module) -> "FlopModel":
        cfg = model.config
        emb = model.get_input_embeddings().weight
        head = model.get_output_embeddings().weight
        ids = {id(emb), id(head)}
        body = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values() if id(p) not in ids)
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return FlopModel(body, cfg.num_hidden_layers, cfg.num_attention_heads * head_dim, head.numel())

    def flops(self, example_lengths: list[int], n_supervised: int) -> float:
        tokens = sum(example_lengths)
        attn = 6.0 * self.layers * self.attn_width * sum(n * n for n in example_lengths)
        return 6.0 * self.body_params * tokens + attn + 6.0 * self.head_params * n_supervised


def peak_flops(device: torch.device, precision: str) -> float | None:
    """Peak FLOP/s of a known CUDA device in bf16; None on the CPU or an unknown GPU."""
    if device.type != "cuda" or precision != "bf16":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, tflops in PEAK_BF16_TFLOPS:
        if fragment in name:
            return tflops * 1e12
    return None


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process: allocated on CUDA; on the CPU the resident high-water mark.
    Linux's VmHWM belongs to this program alone; ru_maxrss survives exec, so an engine started by
    a big parent (a benchmark that built a model) would report the parent's peak."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    hwm = _vm_hwm_kb()
    if hwm is not None:
        return hwm / 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _vm_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@dataclass
class Window:
    """Counters over one log interval."""

    tokens: int = 0
    supervised: int = 0
    slots: int = 0
    flops: float = 0.0
    seconds: float = 0.0
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    last_grad_norm: float | None = None

    def add(self, tokens: int, supervised: int, slots: int, flops: float, seconds: float) -> None:
        self.tokens += tokens
        self.supervised += supervised
        self.slots += slots
        self.flops += flops
        self.seconds += seconds
