"""AdamW and the learning-rate schedule (linear warmup, then cosine or constant)."""

from __future__ import annotations

import math

import torch

from contracts.engine_job import Hyperparameters


def build_optimizer(model: torch.nn.Module, hp: Hyperparameters, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms or biases); fused on CUDA, foreach elsewhere."""
    seen: set[int] = set()
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": hp.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    kwargs = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(
        groups, lr=hp.learning_rate, betas=(hp.adam_beta1, hp.adam_beta2), eps=hp.adam_eps, **kwargs
    )


def lr_factor(step: int, total_steps: int, hp: Hyperparameters) -> float:
    """Multiplier of the peak learning rate for optimizer step `step` (0-based)."""
    if hp.warmup_steps and step < hp.warmup_steps:
        return (step + 1) / hp.warmup_steps
    if hp.schedule == "constant":
        return 1.0
    span = max(1, total_steps - hp.warmup_steps)
    progress = min(1.0, (step - hp.warmup_steps) / span)
    return hp.min_lr_ratio + (1 - hp.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, hp: Hyperparameters
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, hp))
