"""Model and tokenizer loading for any Qwen3 folder or hub id (also used by the inference node).

- attention `auto`: flash_attention_2 when flash-attn imports and the device is CUDA, else sdpa;
- precision `auto`: bf16 on CUDA devices that support it, fp32 elsewhere. bf16 training keeps
  fp32 master weights and runs the forward under bf16 autocast;
- gradient checkpointing on request.
"""

from __future__ import annotations

import importlib.util
import os
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


def resolve_precision(requested: str, device: torch.device) -> str:
    if requested == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise EngineError("bad_job", "precision bf16 requested but this GPU does not support it", where="precision",
                          fix='use "auto" or "fp32"')
    return requested


def flash_attn_available() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def resolve_attention(requested: str, device: torch.device) -> str:
    if requested == "auto":
        return "flash_attention_2" if device.type == "cuda" and flash_attn_available() else "sdpa"
    if requested == "flash_attention_2" and (device.type != "cuda" or not flash_attn_available()):
        raise EngineError("bad_job", "flash_attention_2 needs a CUDA device and the flash-attn package",
                          where="attention", fix='use "auto" or "sdpa"')
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
