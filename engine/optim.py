"""AdamW and the learning-rate schedule (linear warmup, then cosine or constant).

The schedule counts job steps (`lr_clock: job`) or the hero's global steps
(`lr_clock: campaign`): then the warmup happens once per save, and a job that
continues another (`continue_from`) takes the learning rate where the campaign is."""

from __future__ import annotations

import math
from collections.abc import Callable

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


def cooldown_factor(job_step: int, total_steps: int, hp: Hyperparameters) -> float:
    """wsd: 1 until the job's last cooldown_fraction of steps, then linearly down to min_lr_ratio."""
    span = round(total_steps * hp.cooldown_fraction)
    start = total_steps - span
    if hp.schedule != "wsd" or span <= 0 or job_step < start:
        return 1.0
    return 1.0 - (1.0 - hp.min_lr_ratio) * min(1.0, (job_step - start + 1) / span)


def lr_factor(step: int, total_steps: int, hp: Hyperparameters) -> float:
    """Multiplier of the peak learning rate for optimizer step `step` (0-based) of the schedule's
    clock (job steps, or global steps on the campaign clock); wsd's cool-down is applied per job."""
    if hp.warmup_steps and step < hp.warmup_steps:
        return (step + 1) / hp.warmup_steps
    if hp.schedule in ("constant", "wsd"):
        return 1.0
    span = max(1, total_steps - hp.warmup_steps)
    progress = min(1.0, (step - hp.warmup_steps) / span)
    return hp.min_lr_ratio + (1 - hp.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, hp: Hyperparameters, init_step: int = 0
) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR over the job's steps; on the campaign clock the job's step 0 is global step `init_step`."""
    offset = init_step if hp.lr_clock == "campaign" else 0
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(offset + step, total_steps, hp) * cooldown_factor(step, total_steps, hp))


def carry_optimizer_state(optimizer: torch.optim.AdamW, state: dict, hp: Hyperparameters,
                          load: Callable[[dict], None] | None = None) -> None:
    """Load an earlier job's AdamW state (its moments and step counts) into `optimizer` (through `load`,
    a sharded optimizer's loader, when given), then set this job's hyperparameters on every group:
    the player may have changed them between quests."""
    (load or optimizer.load_state_dict)(state)
    for i, group in enumerate(optimizer.param_groups):
        group["lr"] = hp.learning_rate
        group.pop("initial_lr", None)
        group["betas"] = (hp.adam_beta1, hp.adam_beta2)
        group["eps"] = hp.adam_eps
        group["weight_decay"] = hp.weight_decay if i == 0 else 0.0
