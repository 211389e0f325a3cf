"""One optimizer step's gradient, accumulated over its micro-batches."""

from __future__ import annotations

import contextlib

import torch

from engine.batching.collate import Batch
from engine.distributed import World, accumulating
from engine.forward import ForwardConfig, loss_sum


def forward_backward(model: torch.nn.Module, batches: list[Batch], forward: ForwardConfig,
                     world: World | None = None, ddp: torch.nn.Module | None = None,
                     counts: bool = True) -> torch.Tensor:
    """Accumulate the gradient of one optimizer step; returns the step's mean loss per supervised token.

    Every micro-batch's summed loss is divided by the supervised tokens of the WHOLE step before
    backward, so the gradient is the token-weighted mean over the step however it is split. Under
    torchrun (`world`, `ddp`: the DDP or FSDP2 wrapper): the step's tokens are counted over every rank,
    each loss is scaled by the world size (both average the ranks' gradients), only the last micro-batch synchronises,
    and a rank whose micro-batches do not count (`counts` False) contributes a zero gradient."""
    device = batches[0].input_ids.device
    local = torch.tensor(float(sum(b.n_supervised for b in batches) if counts else 0), device=device)
    n_sup = world.all_sum(local) if world is not None else local
    scale = (world.size if world is not None else 1) * (1.0 if counts else 0.0)
    total = torch.zeros((), device=device)
    for i, b in enumerate(batches):
        last = i == len(batches) - 1
        sync = accumulating(ddp) if ddp is not None and not last else contextlib.nullcontext()
        with sync:
            loss = ddp(b) if ddp is not None else loss_sum(model, b, forward)
            (loss * scale / n_sup).backward()
        total += loss.detach() * (1.0 if counts else 0.0)
    if world is not None:
        total = world.all_sum(total)
    return total / n_sup
