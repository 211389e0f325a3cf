"""Model and tokenizer loading for any Qwen3 folder or hub id (also used by the inference node).

- attention `auto`: flash_attention_2 when flash-attn imports, the device is CUDA of compute
  capability >= 8.0 and the job trains in bf16; else sdpa;
- precision `auto`: bf16 on CUDA devices with native bf16 (compute capability >= 8.0), fp32 elsewhere. bf16 training keeps
  fp32 master weights and runs the forward under bf16 autocast;
- gradient checkpointing on request.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.errors import EngineError


def resolve_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("bad_job", f"device {requested!r} requested but CUDA is not available", where="device",
                          fix='use "auto" or "cpu"')
    return torch.device(requested)


FLASH_MIN_CAPABILITY = (8, 0)  # flash-attn 2 runs on Ampere and newer
BF16_MIN_CAPABILITY = (8, 0)  # native bf16 matmuls (older cards only emulate it, slowly)


@dataclass(frozen=True)
class DeviceCaps:
    """What the engine needs to know about a device to choose precision and attention.
    Built from the real device by `of`; tests build it by hand for a GPU they do not have."""

    type: str  # cpu | cuda
    capability: tuple[int, int] | None = None  # CUDA compute capability
    name: str = ""

    @staticmethod
    def of(device: torch.device) -> "DeviceCaps":
        if device.type != "cuda":
            return DeviceCaps(device.type)
        index = device.index if device.index is not None else torch.cuda.current_device()
        return DeviceCaps("cuda", tuple(torch.cuda.get_device_capability(index)), torch.cuda.get_device_name(index))

    @property
    def bf16(self) -> bool:
        return self.type == "cuda" and self.capability is not None and self.capability >= BF16_MIN_CAPABILITY

    @property
    def flash_capable(self) -> bool:
        return self.type == "cuda" and self.capability is not None and self.capability >= FLASH_MIN_CAPABILITY


def resolve_precision(requested: str, device: torch.device | DeviceCaps) -> str:
    caps = device if isinstance(device, DeviceCaps) else DeviceCaps.of(device)
    if requested == "auto":
        return "bf16" if caps.bf16 else "fp32"
    if requested == "bf16" and caps.type == "cuda" and not caps.bf16:
        gpu = caps.name or f"compute capability {caps.capability}"
        raise EngineError("bad_job", f"precision bf16 requested, but this GPU ({gpu}) has no native bf16 "
                          "(it needs compute capability 8.0 or newer)", where="precision", fix='use "auto" or "fp32"')
    return requested


@functools.cache
def flash_attn_import_error() -> str | None:
    """None when flash-attn imports; else why not (a missing package, or a build that does not load)."""
    try:
        import flash_attn  # noqa: F401
    except Exception as exc:  # a wheel built for another torch raises ImportError or OSError
        return f"{type(exc).__name__}: {exc}"
    return None


def flash_attn_available() -> bool:
    return flash_attn_import_error() is None


def flash_refusal(caps: DeviceCaps, precision: str, importable: bool) -> str | None:
    """Why flash_attention_2 cannot run here (None when it can)."""
    if caps.type != "cuda":
        return "flash_attention_2 needs a CUDA device"
    if not caps.flash_capable:
        return f"flash_attention_2 needs compute capability 8.0 or newer (this GPU has {caps.capability})"
    if precision not in ("bf16", "fp16"):
        return f"flash_attention_2 runs only in bf16 or fp16, and this job trains in {precision}"
    if not importable:
        return "flash_attention_2 needs the flash-attn package, which does not import here"
    return None


def resolve_attention(requested: str, device: torch.device | DeviceCaps, precision: str = "fp32",
                      importable: bool | None = None) -> str:
    """auto: flash_attention_2 on a CUDA device of compute capability >= 8.0 in bf16/fp16 where
    flash-attn imports, else sdpa. An explicit flash_attention_2 that cannot run is a bad_job."""
    caps = device if isinstance(device, DeviceCaps) else DeviceCaps.of(device)
    if requested not in ("auto", "flash_attention_2"):
        return requested
    ok = flash_attn_available() if importable is None else importable
    why = flash_refusal(caps, precision, ok)
    if requested == "auto":
        return "sdpa" if why else "flash_attention_2"
    if why:
        raise EngineError("bad_job", why, where="attention", fix='use "auto" or "sdpa"')
    return requested


def set_threads(threads: int) -> int:
    """Use `threads` CPU threads (0 = every core this process may run on)."""
    if threads:
        n = threads
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count() or 1
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def quiet_transformers() -> None:
    """No progress bars or advisory warnings on the console (the engine's stdout is for events)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_tokenizer(model_dir: str | Path) -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model_dir))
    except Exception as exc:
        raise EngineError("model_load", f"cannot load a tokenizer: {exc}", where=str(model_dir),
                          fix="point model_dir at a Hugging Face folder with tokenizer files") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if tok.eos_token_id is None:
        raise EngineError("model_load", "the tokenizer has no eos token", where=str(model_dir))
    return tok


def load_model(
    model_dir: str | Path,
    device: torch.device,
    attention: str = "sdpa",
    dtype: torch.dtype = torch.float32,
    gradient_checkpointing: bool = False,
) -> torch.nn.Module:
    """A causal LM on `device` with `attention`; weights in `dtype` (fp32 master weights for training)."""
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, attn_implementation=attention)
    except Exception as exc:
        raise EngineError("model_load", f"cannot load the model: {exc}", where=str(model_dir),
                          fix="point model_dir at a Hugging Face causal-LM folder (config.json + safetensors)",
                          ) from None
    model.to(device)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters), tied weights counted once."""
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
