"""Micro-batch plan -> tensors: input ids, shifted targets, position ids and segment ids."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import torch

from engine.batching.plan import MicroBatchPlan
from engine.data.tokenize import IGNORE, TokenizedExample


@dataclass
class Batch:
    """One micro-batch. `targets[b, t]` is the token position t must predict, or -100.

    layout `padded`: one example per row, right-padded; plain causal attention is exact.
    layout `packed`: examples concatenated per row; `segment_ids` (-1 on padding) and
    `position_ids` (restarting at 0 per example) keep examples apart.
    """

    input_ids: torch.Tensor
    targets: torch.Tensor
    position_ids: torch.Tensor | None
    segment_ids: torch.Tensor | None
    layout: str
    rows: tuple[tuple[int, ...], ...]
    example_lengths: list[int]
    n_tokens: int
    n_slots: int
    n_supervised: int
    # one flattened packed row (padding_free): int32 example boundaries [0, l1, l1+l2, ...] and the
    # longest example, built once here so flash-attn varlen need not re-derive them in every layer
    cu_seqlens: torch.Tensor | None = None
    max_seqlen: int | None = None

    def to(self, device: torch.device) -> "Batch":
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.input_ids), move(self.targets), move(self.position_ids), move(self.segment_ids),
                     self.layout, self.rows, self.example_lengths, self.n_tokens, self.n_slots, self.n_supervised,
                     move(self.cu_seqlens), self.max_seqlen)

    def varlen_kwargs(self) -> dict:
        """flash-attn varlen's keyword arguments for the model's forward (empty unless one flat row)."""
        if self.cu_seqlens is None:
            return {}
        return {"cu_seq_lens_q": self.cu_seqlens, "cu_seq_lens_k": self.cu_seqlens,
                "max_length_q": self.max_seqlen, "max_length_k": self.max_seqlen}


def collate(
    plan: MicroBatchPlan, examples: Sequence[TokenizedExample], pad_id: int, layout: str
) -> Batch:
    """Build the tensors of one micro-batch (`layout` is `padded` or `packed`)."""
    rows_ids: list[list[int]] = []
    rows_labels: list[list[int]] = []
    rows_pos: list[list[int]] = []
    rows_seg: list[list[int]] = []
    lengths: list[int] = []
    for row in plan.rows:
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        seg: list[int] = []
        for s, idx in enumerate(row):
            ex = examples[idx]
            n = len(ex.input_ids)
            ids += ex.input_ids
            labels += ex.labels
            pos += range(n)
            seg += [s] * n
            lengths.append(n)
        rows_ids.append(ids)
        rows_labels.append(labels)
        rows_pos.append(pos)
        rows_seg.append(seg)
    width = max(len(r) for r in rows_ids)
    n_rows = len(rows_ids)
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    labels_t = torch.full((n_rows, width), IGNORE, dtype=torch.long)
    packed = layout == "packed"
    position_ids = torch.zeros((n_rows, width), dtype=torch.long) if packed else None
    segment_ids = torch.full((n_rows, width), -1, dtype=torch.long) if packed else None
    for b in range(n_rows):
        n = len(rows_ids[b])
        input_ids[b, :n] = torch.tensor(rows_ids[b], dtype=torch.long)
        labels_t[b, :n] = torch.tensor(rows_labels[b], dtype=torch.long)
        if packed:
            position_ids[b, :n] = torch.tensor(rows_pos[b], dtype=torch.long)  # type: ignore[index]
            position_ids[b, n:] = torch.arange(width - n)  # type: ignore[index]
            segment_ids[b, :n] = torch.tensor(rows_seg[b], dtype=torch.long)  # type: ignore[index]
    targets = torch.full_like(labels_t, IGNORE)
    targets[:, :-1] = labels_t[:, 1:]
    n_tokens = sum(lengths)
    flat = packed and n_rows == 1 and width == n_tokens
    cu = torch.tensor([0, *itertools.accumulate(lengths)], dtype=torch.int32) if flat else None
    return Batch(
        input_ids=input_ids,
        targets=targets,
        position_ids=position_ids,
        segment_ids=segment_ids,
        layout=layout,
        rows=plan.rows,
        example_lengths=lengths,
        n_tokens=n_tokens,
        n_slots=n_rows * width,
        n_supervised=int((targets != IGNORE).sum()),
        cu_seqlens=cu,
        max_seqlen=max(lengths) if flat else None,
    )
