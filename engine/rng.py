"""The random state a checkpoint carries: the CPU generator and the training device's own CUDA
generator only. Saving every visible GPU's (get_rng_state_all) made a resume on a box with fewer
GPUs crash; checkpoints written that way still load (the training device's entry is taken)."""

from __future__ import annotations

from typing import Any

import torch


def rng_state(device: torch.device) -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"rng_cpu": torch.get_rng_state(), "rng_cuda": cuda}


def cuda_state_for(saved: Any, device: torch.device) -> torch.Tensor | None:
    """The saved CUDA state for `device`: a tensor, or (older checkpoints) a list of every GPU's."""
    if saved is None or device.type != "cuda":
        return None
    if isinstance(saved, (list, tuple)):
        index = device.index if device.index is not None else 0
        return saved[index] if index < len(saved) else None
    return saved


def set_rng(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["rng_cpu"])
    cuda = cuda_state_for(state.get("rng_cuda"), device)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)
