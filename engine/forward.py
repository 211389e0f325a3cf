"""The loss of one micro-batch: a summed cross-entropy over supervised tokens only.

Logits are computed only where a label is supervised (the LM head over Qwen3's 151k
vocabulary is a large share of the cost). Two ways to get the hidden states there:
`fast` (engine.fast_qwen3, Qwen3 + sdpa) and `hf` (the model's own forward, used for
flash_attention_2, eager and other architectures).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import contracts.loss_chunks as chunks
from engine.batching.collate import Batch
from engine.data.tokenize import IGNORE
from engine.fast_qwen3 import supervised_hidden, supports_fast_path
from engine.masks import additive_mask, block_causal_bool


@dataclass(frozen=True)
class ForwardConfig:
    attention: str  # sdpa | eager | flash_attention_2
    fast: bool
    gradient_checkpointing: bool = False
    autocast_dtype: torch.dtype | None = None  # bf16 autocast on CUDA

    @staticmethod
    def for_model(model: torch.nn.Module, attention: str, gradient_checkpointing: bool,
                  autocast_dtype: torch.dtype | None, allow_fast: bool = True) -> "ForwardConfig":
        fast = allow_fast and attention == "sdpa" and supports_fast_path(model)
        return ForwardConfig(attention, fast, gradient_checkpointing, autocast_dtype)


def _hf_hidden(model: torch.nn.Module, batch: Batch, keep: torch.Tensor, attention: str) -> torch.Tensor:
    mask = None
    position_ids = batch.position_ids
    if batch.layout == "packed":
        if attention == "flash_attention_2":
            if batch.input_ids.shape[0] != 1:
                raise ValueError("flash_attention_2 needs one flattened row per micro-batch (padding_free)")
        else:
            mask = block_causal_bool(batch.segment_ids)  # type: ignore[arg-type]
            if attention == "eager":
                mask = additive_mask(mask, model.get_input_embeddings().weight.dtype)
    varlen = batch.varlen_kwargs() if attention == "flash_attention_2" else {}
    out = model.model(input_ids=batch.input_ids, attention_mask=mask, position_ids=position_ids, use_cache=False,
                      **varlen)
    return out.last_hidden_state[keep]


def _autocast(cfg: ForwardConfig, device: torch.device):
    if cfg.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=cfg.autocast_dtype)


def supervised_states(model: torch.nn.Module, batch: Batch, cfg: ForwardConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(final hidden states [N, H], targets [N]) at the N supervised positions, row-major."""
    keep = batch.targets != IGNORE
    with _autocast(cfg, batch.input_ids.device):
        if cfg.fast:
            hidden = supervised_hidden(
                model, batch.input_ids, keep, batch.position_ids, batch.segment_ids, cfg.gradient_checkpointing
            )
        else:
            hidden = _hf_hidden(model, batch, keep, cfg.attention)
    return hidden, batch.targets[keep]


LOGIT_CHUNK_ELEMENTS, MIN_CHUNK_ROWS = chunks.LOGIT_CHUNK_ELEMENTS, chunks.MIN_CHUNK_ROWS


def loss_chunk_rows(vocab: int) -> int:
    return chunks.loss_chunk_rows(vocab, LOGIT_CHUNK_ELEMENTS, MIN_CHUNK_ROWS)


def _head_loss(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor, cfg: ForwardConfig) -> torch.Tensor:
    with _autocast(cfg, hidden.device):
        logits = head(hidden)
    return F.cross_entropy(logits.float(), targets, reduction="sum")


def loss_sum(model: torch.nn.Module, batch: Batch, cfg: ForwardConfig) -> torch.Tensor:
    """Sum of token cross-entropies over the supervised positions (fp32 scalar).

    The LM head and the loss run over chunks of `loss_chunk_rows` positions, each under
    activation checkpointing, so no more than one chunk's [rows, vocab] logits (upcast to fp32)
    exist at once, forward or backward: 16k supervised tokens of Qwen3 would otherwise hold
    about 10 GB of fp32 logits. One chunk (every nano step) is the plain computation."""
    hidden, targets = supervised_states(model, batch, cfg)
    head = model.get_output_embeddings()
    rows = loss_chunk_rows(head.weight.shape[0])
    if hidden.shape[0] <= rows:
        return _head_loss(head, hidden, targets, cfg)
    total = hidden.new_zeros((), dtype=torch.float32)
    for h, t in zip(hidden.split(rows), targets.split(rows), strict=True):
        total = total + checkpoint(_head_loss, head, h, t, cfg, use_reentrant=False)
    return total
