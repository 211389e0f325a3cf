"""Attention masks for packed rows: block-diagonal and causal, in the form each backend takes."""

from __future__ import annotations

import torch


def block_causal_bool(segment_ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, T, T] bool, True where query t may attend key s: same segment and s <= t.
    Padding (segment -1) attends only to earlier padding of its row, so no query row is empty."""
    t = segment_ids.shape[1]
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    causal = torch.ones(t, t, dtype=torch.bool, device=segment_ids.device).tril()
    return (same & causal)[:, None]


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bool mask as the additive float mask eager attention adds to its scores (0 or dtype min)."""
    zero = torch.zeros((), dtype=dtype, device=mask.device)
    neg = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=mask.device)
    return torch.where(mask, zero, neg)
