"""One optimizer step's gradient, accumulated over its micro-batches."""

from __future__ import annotations

import torch

from engine.batching.collate import Batch
from engine.forward import ForwardConfig, loss_sum


def forward_backward(model: torch.nn.Module, batches: list[Batch], forward: ForwardConfig) -> torch.Tensor:
    """Accumulate the gradient of one optimizer step; returns the step's mean loss per supervised token.

    Every micro-batch's summed loss is divided by the supervised tokens of the WHOLE step before
    backward, so the gradient is the token-weighted mean over the step however it is split."""
    n_sup = sum(b.n_supervised for b in batches)
    total = torch.zeros((), device=batches[0].input_ids.device)
    for b in batches:
        loss = loss_sum(model, b, forward)
        (loss / n_sup).backward()
        total += loss.detach()
    return total / n_sup
