"""Validation loss on the held-out split: token-weighted mean cross-entropy, no gradients."""

from __future__ import annotations

from typing import Sequence

import torch

from engine.batching.collate import collate
from engine.batching.plan import plan_padded
from engine.data.tokenize import TokenizedExample
from engine.forward import ForwardConfig, loss_sum


def validation_loss(
    model: torch.nn.Module,
    examples: Sequence[TokenizedExample],
    forward: ForwardConfig,
    pad_id: int,
    budget: int,
    device: torch.device,
    sharded: torch.nn.Module | None = None,
) -> tuple[float | None, int]:
    """(mean loss per supervised token, supervised tokens); (None, 0) without examples. `sharded`: the
    FSDP2 root (engine.sharding), whose forward is the loss; every rank then runs the same batches."""
    if not examples:
        return None, 0
    import random

    lengths = [len(e) for e in examples]
    plans = plan_padded(list(range(len(examples))), lengths, budget, random.Random(0))
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    try:
        with torch.no_grad():
            for plan in plans:
                batch = collate(plan, examples, pad_id, "padded").to(device)
                loss = sharded(batch) if sharded is not None else loss_sum(model, batch, forward)
                total += loss.double()
                count += batch.n_supervised
    finally:
        model.train(was_training)
    return (float(total) / count if count else None), count
