"""Deterministic epoch plans: micro-batches of example indices grouped into optimizer steps.

The plan of epoch e depends only on (seed, e, the example lengths and the settings), so a
resumed job rebuilds it and continues at (epoch, step_in_epoch) exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Sequence

Mode = Literal["padded", "packed", "padding_free"]


@dataclass(frozen=True)
class MicroBatchPlan:
    rows: tuple[tuple[int, ...], ...]  # example indices per row; `padded` has one example per row

    def examples(self) -> list[int]:
        return [i for row in self.rows for i in row]


@dataclass(frozen=True)
class EpochPlan:
    epoch: int
    steps: tuple[tuple[MicroBatchPlan, ...], ...]


def resolve_batching(requested: str, attention: str, device_type: str = "cpu") -> Mode:
    """`auto` -> padding_free with flash_attention_2; packed on the CPU (random micro-batches
    nearly as fast as length-grouped padded ones, see RESULTS.md); padded otherwise."""
    if requested == "auto":
        if attention == "flash_attention_2":
            return "padding_free"
        return "packed" if device_type == "cpu" else "padded"
    if requested == "packed" and attention == "flash_attention_2":
        raise ValueError(
            "batching=packed builds several rows with a block mask, which flash_attention_2 cannot take; "
            "use batching=padding_free (or auto) with flash_attention_2"
        )
    return requested  # type: ignore[return-value]


AUTO_ROW_MIN = 64
AUTO_ROW_SHARE = 0.99


def auto_row_tokens(lengths: Sequence[int], budget: int) -> int:
    """packed_row_tokens 0: the smallest power of two (>= AUTO_ROW_MIN, <= budget) that holds
    AUTO_ROW_SHARE of the examples whole. Rows much shorter than the long examples leave those
    alone in rows that set the micro-batch's width (28 % padding at 128 on data of 27-225
    tokens); rows much longer cost attention for nothing."""
    if not lengths:
        return min(AUTO_ROW_MIN, budget)
    ranked = sorted(lengths)
    need = ranked[min(len(ranked) - 1, int(AUTO_ROW_SHARE * len(ranked)))]
    row = AUTO_ROW_MIN
    while row < need and row < budget:
        row *= 2
    return min(row, budget)


def length_windows(order: Sequence[int], lengths: Sequence[int], tokens: int) -> list[list[int]]:
    """Cut the shuffled order into consecutive windows of about `tokens` tokens (0: one window)."""
    if tokens <= 0:
        return [list(order)]
    windows: list[list[int]] = [[]]
    filled = 0
    for idx in order:
        if windows[-1] and filled + lengths[idx] > tokens:
            windows.append([])
            filled = 0
        windows[-1].append(idx)
        filled += lengths[idx]
    return windows


def grouped_order(order: Sequence[int], lengths: Sequence[int], window_tokens: int, longest_first: bool) -> list[int]:
    """The shuffled order with each window sorted by length (stable, so ties keep the shuffle)."""
    sign = -1 if longest_first else 1
    return [i for w in length_windows(order, lengths, window_tokens) for i in sorted(w, key=lambda i: sign * lengths[i])]


def cut_by_width(items: Sequence[int], width: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive groups of `items` while count x widest <= budget (an item alone may exceed it)."""
    groups: list[list[int]] = []
    current: list[int] = []
    widest = 0
    for item in items:
        wider = max(widest, width[item])
        if current and (len(current) + 1) * wider > budget:
            groups.append(current)
            current, wider = [], width[item]
        current.append(item)
        widest = wider
    if current:
        groups.append(current)
    return groups


def plan_padded(order: Sequence[int], lengths: Sequence[int], budget: int, rng: random.Random,
                window_tokens: int = 0) -> list[MicroBatchPlan]:
    """Fill each micro-batch, in length-grouped order, while count x longest <= budget."""
    batches = cut_by_width(grouped_order(order, lengths, window_tokens, longest_first=False), lengths, budget)
    rng.shuffle(batches)
    return [MicroBatchPlan(tuple((i,) for i in b)) for b in batches]


def plan_packed(
    order: Sequence[int], lengths: Sequence[int], row_tokens: int, budget: int, rng: random.Random,
    window_tokens: int = 0,
) -> list[MicroBatchPlan]:
    """Short packed rows (best fit, longest first within each window), then as many rows per
    micro-batch as fit the budget."""
    from engine.batching.bfd import best_fit

    rows = best_fit([(i, lengths[i]) for i in grouped_order(order, lengths, window_tokens, True)], row_tokens)
    rng.shuffle(rows)
    row_len = [sum(lengths[i] for i in r) for r in rows]
    # rows of similar length together (within the same windows) so the row width wastes little
    ranked = grouped_order(range(len(rows)), row_len, window_tokens, longest_first=False)
    batches = cut_by_width(ranked, row_len, budget)
    rng.shuffle(batches)
    return [MicroBatchPlan(tuple(tuple(rows[r]) for r in b)) for b in batches]


def plan_padding_free(
    order: Sequence[int], lengths: Sequence[int], budget: int, rng: random.Random, window_tokens: int = 0,
) -> list[MicroBatchPlan]:
    """One flattened row per micro-batch, filled by best fit (longest first within each window)."""
    from engine.batching.bfd import best_fit

    bins = best_fit([(i, lengths[i]) for i in grouped_order(order, lengths, window_tokens, True)], budget)
    rng.shuffle(bins)
    return [MicroBatchPlan((tuple(b),)) for b in bins]


def plan_epoch(
    lengths: Sequence[int],
    mode: Mode,
    budget: int,
    grad_accum: int,
    seed: int,
    epoch: int,
    row_tokens: int = 0,
    length_grouping: int = 1,
) -> EpochPlan:
    """The micro-batches of one epoch, grouped `grad_accum` per optimizer step (the last step may hold fewer).
    `row_tokens` 0: packed rows as long as the data needs (auto_row_tokens).

    `length_grouping` micro-batches' worth of the shuffled examples are grouped by length (0: the
    whole epoch). Grouping saves padding but makes micro-batches of look-alike examples, which
    slows learning where length and content go together (BIN: short sums are the small ones)."""
    rng = random.Random(f"realm-epoch-{seed}-{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = length_grouping * budget
    if mode == "padded":
        micro = plan_padded(order, lengths, budget, rng, window)
    elif mode == "packed":
        row = row_tokens or auto_row_tokens(lengths, budget)
        micro = plan_packed(order, lengths, min(row, budget), budget, rng, window)
    elif mode == "padding_free":
        micro = plan_padding_free(order, lengths, budget, rng, window)
    else:
        raise ValueError(f"unknown batching mode {mode!r}")
    steps = tuple(tuple(micro[i : i + grad_accum]) for i in range(0, len(micro), grad_accum))
    return EpochPlan(epoch, steps)


def split_micro_batch(mb: MicroBatchPlan, parts: int) -> list[MicroBatchPlan]:
    """Split a micro-batch into up to `parts` smaller ones by rows, or by examples for a single row."""
    if parts <= 1:
        return [mb]
    if len(mb.rows) >= 2:
        k = min(parts, len(mb.rows))
        return [MicroBatchPlan(mb.rows[i::k]) for i in range(k)]
    row = mb.rows[0]
    if len(row) < 2:
        return [mb]
    k = min(parts, len(row))
    return [MicroBatchPlan((row[i::k],)) for i in range(k)]
