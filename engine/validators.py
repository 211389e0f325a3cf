"""Masking validators, run on the first micro-batches before the first optimizer step.

Each raises `MaskingError` (an `EngineError` with code `masking`) that says what is wrong,
where (micro-batch, row, example source) and how to fix it:

- `check_masked_ratio`: the share of masked (label -100) real tokens is inside the band;
- `check_region_count`: each example has as many trained regions as response templates
  (`<|im_start|>assistant\\n`), or one region for a completion;
- `check_no_role_text_trained`: no `<|im_start|>` and no system/user text among trained tokens
  (every trained token lies inside an assistant turn);
- `check_packed_alignment`: in packed rows, each segment's targets equal its example's own
  shifted labels, so masked and trained spans alternate as the examples dictate and no
  example's last position predicts the next example's first token;
- `check_label_distribution`: labels are in the vocabulary, never the pad token, and not
  all one token.

`LabelGuard` holds for EVERY micro-batch the engine trains (checked on the CPU when it is
collated, before any forward pass, so it costs one vectorised test and no device sync): no
trained label is a special token other than the end of an answer (`<|im_end|>`, or the eos of
a completion), and every label is inside the vocabulary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch

from engine.batching.collate import Batch
from engine.data.tokenize import IGNORE, TokenizedExample
from engine.errors import EngineError


class MaskingError(EngineError):
    def __init__(self, message: str, where: str, fix: str) -> None:
        super().__init__("masking", message, where=where, fix=fix)


@dataclass(frozen=True)
class MaskingContext:
    """What the validators need to know about the tokenizer and the settings."""

    vocab_size: int
    pad_id: int
    im_start_id: int | None
    response_template: tuple[int, ...]
    masked_ratio_min: float
    masked_ratio_max: float
    max_top_label_share: float = 0.9


@dataclass(frozen=True)
class LabelGuard:
    """The invariant of every trained micro-batch (see the module doc)."""

    forbidden: torch.Tensor  # special token ids that are never a label
    vocab_size: int

    @classmethod
    def for_tokenizer(cls, tokenizer, vocab_size: int) -> "LabelGuard":
        allowed = {tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.eos_token_id}
        special = set(getattr(tokenizer, "all_special_ids", ()) or ())
        special |= {i for i, tok in getattr(tokenizer, "added_tokens_decoder", {}).items() if tok.special}
        if tokenizer.pad_token_id is not None:
            special.add(tokenizer.pad_token_id)
        forbidden = sorted(i for i in special - allowed if isinstance(i, int) and i >= 0)
        return cls(torch.tensor(forbidden, dtype=torch.long), vocab_size)

    def check(self, batch: Batch, where: str) -> None:
        targets = batch.targets
        trained = targets[targets != IGNORE]
        if trained.numel() == 0:
            return
        bad = torch.isin(trained, self.forbidden) | (trained < 0) | (trained >= self.vocab_size)
        if bool(bad.any()):
            token = int(trained[bad][0])
            raise MaskingError(
                f"a trained label is token {token}, a special token or outside the vocabulary "
                f"[0, {self.vocab_size})",
                where=where,
                fix="special tokens in message text must be encoded as plain text; check the data and the renderer",
            )


def _row_segments(batch: Batch, b: int) -> list[tuple[int, int, int]]:
    """(example index, start, end) of each example in row b."""
    out = []
    start = 0
    for idx, length in zip(batch.rows[b], _row_lengths(batch, b)):
        out.append((idx, start, start + length))
        start += length
    return out


def _row_lengths(batch: Batch, b: int) -> list[int]:
    offset = sum(len(r) for r in batch.rows[:b])
    return batch.example_lengths[offset : offset + len(batch.rows[b])]


def _count_subsequence(seq: Sequence[int], pattern: Sequence[int]) -> int:
    n, m = len(seq), len(pattern)
    if m == 0:
        return 0
    return sum(1 for i in range(n - m + 1) if tuple(seq[i : i + m]) == tuple(pattern))


def _trained_regions(targets_row: Sequence[int], start: int, end: int) -> int:
    """Contiguous runs of trained labels among positions start..end-1 (label of position p = target p-1)."""
    regions, inside = 0, False
    for p in range(start, end):
        trained = p > start and targets_row[p - 1] != IGNORE
        if trained and not inside:
            regions += 1
        inside = trained
    return regions


def check_masked_ratio(batches: Sequence[Batch], ctx: MaskingContext) -> None:
    real = sum(b.n_tokens for b in batches)
    supervised = sum(b.n_supervised for b in batches)
    ratio = 1.0 - supervised / max(real, 1)
    if ratio < ctx.masked_ratio_min:
        raise MaskingError(
            f"only {ratio:.1%} of tokens are masked (minimum {ctx.masked_ratio_min:.0%}): prompts or role "
            "markers are probably being trained",
            where=f"first {len(batches)} micro-batches",
            fix="check the data schema and the chat template, or lower hyperparameters.masked_ratio_min",
        )
    if ratio > ctx.masked_ratio_max:
        raise MaskingError(
            f"{ratio:.1%} of tokens are masked (maximum {ctx.masked_ratio_max:.1%}): almost nothing is trained",
            where=f"first {len(batches)} micro-batches",
            fix="check that examples end with a non-empty assistant turn, or raise hyperparameters.masked_ratio_max",
        )


def check_region_count(batches: Sequence[Batch], examples: Sequence[TokenizedExample], ctx: MaskingContext) -> None:
    for n, batch in enumerate(batches):
        targets = batch.targets.tolist()
        ids = batch.input_ids.tolist()
        for b in range(len(batch.rows)):
            for idx, start, end in _row_segments(batch, b):
                ex = examples[idx]
                regions = _trained_regions(targets[b], start, end)
                if ex.kind == "chat":
                    templates = _count_subsequence(ids[b][start:end], ctx.response_template)
                    expected = templates
                else:
                    templates, expected = None, 1
                if regions != expected:
                    what = (f"{templates} response templates" if templates is not None else "a completion")
                    raise MaskingError(
                        f"example has {regions} trained regions but {what} (expected {expected})",
                        where=f"micro-batch {n}, row {b}, example {ex.source}",
                        fix="every assistant turn must be trained once, and only assistant turns",
                    )


def check_no_role_text_trained(
    batches: Sequence[Batch], examples: Sequence[TokenizedExample], ctx: MaskingContext
) -> None:
    tmpl = list(ctx.response_template)
    for n, batch in enumerate(batches):
        targets = batch.targets.tolist()
        ids = batch.input_ids.tolist()
        for b in range(len(batch.rows)):
            for idx, start, end in _row_segments(batch, b):
                if examples[idx].kind != "chat":
                    if ctx.im_start_id is not None and any(
                        targets[b][p - 1] == ctx.im_start_id for p in range(start + 1, end)
                    ):
                        raise MaskingError("a role marker <|im_start|> is trained", where=f"micro-batch {n}, row {b}, "
                                           f"example {examples[idx].source}", fix="mask role markers out of the labels")
                    continue
                turn_is_assistant = False
                for p in range(start, end):
                    tok = ids[b][p]
                    if tok == ctx.im_start_id:
                        turn_is_assistant = ids[b][p : p + len(tmpl)] == tmpl
                    trained = p > start and targets[b][p - 1] != IGNORE
                    if not trained:
                        continue
                    if tok == ctx.im_start_id:
                        raise MaskingError("a role marker <|im_start|> is trained", where=f"micro-batch {n}, row {b}, "
                                           f"example {examples[idx].source}", fix="mask role markers out of the labels")
                    if not turn_is_assistant:
                        raise MaskingError(
                            "system/user text is trained (a trained token outside any assistant turn)",
                            where=f"micro-batch {n}, row {b}, token {p - start} of example {examples[idx].source}",
                            fix="only assistant turns may carry labels; check the chat rendering",
                        )


def check_packed_alignment(batches: Sequence[Batch], examples: Sequence[TokenizedExample]) -> None:
    for n, batch in enumerate(batches):
        for b in range(len(batch.rows)):
            for idx, _, _ in _row_segments(batch, b):
                if examples[idx].labels[0] != IGNORE:
                    raise MaskingError(
                        "the first label of an example is trained; in a packed row the previous example would "
                        "learn to predict it",
                        where=f"micro-batch {n}, row {b}, example {examples[idx].source}",
                        fix="set labels[0] = -100 for every example",
                    )
        targets = batch.targets.cpu()
        for b in range(len(batch.rows)):
            row_end = 0
            for idx, start, end in _row_segments(batch, b):
                ex = examples[idx]
                expected = torch.tensor(list(ex.labels[1:]) + [IGNORE], dtype=targets.dtype)
                if not torch.equal(targets[b, start:end], expected):
                    raise MaskingError(
                        "packed row's masked/trained spans do not match the example's own labels",
                        where=f"micro-batch {n}, row {b}, positions {start}-{end} (example {ex.source})",
                        fix="labels must be shifted inside each example only",
                    )
                row_end = end
            if (targets[b, row_end:] != IGNORE).any():
                raise MaskingError("padding carries trained labels", where=f"micro-batch {n}, row {b}",
                                   fix="padding labels must be -100")


def check_label_distribution(batches: Sequence[Batch], ctx: MaskingContext) -> None:
    labels = torch.cat([b.targets[b.targets != IGNORE].flatten().cpu() for b in batches])
    if labels.numel() == 0:
        raise MaskingError("no supervised token in the first micro-batches", where="first micro-batches",
                           fix="examples need a non-empty assistant turn or completion")
    if int(labels.min()) < 0 or int(labels.max()) >= ctx.vocab_size:
        raise MaskingError(f"labels outside the vocabulary [0, {ctx.vocab_size})", where="first micro-batches",
                           fix="the tokenizer and the model's vocabulary must match")
    if (labels == ctx.pad_id).any() and ctx.pad_id != -1:
        raise MaskingError("the pad token is among the trained labels", where="first micro-batches",
                           fix="padding must carry label -100 (and pad must differ from eos)")
    top_share = Counter(labels.tolist()).most_common(1)[0][1] / labels.numel()
    if labels.numel() >= 20 and top_share > ctx.max_top_label_share:
        raise MaskingError(
            f"one token makes up {top_share:.0%} of the trained labels; labels look degenerate",
            where="first micro-batches",
            fix="check the data: answers should not be (almost) all the same token",
        )


def validate_batches(batches: Sequence[Batch], examples: Sequence[TokenizedExample], ctx: MaskingContext) -> None:
    """Run every validator; the first failure raises."""
    check_masked_ratio(batches, ctx)
    check_region_count(batches, examples, ctx)
    check_no_role_text_trained(batches, examples, ctx)
    check_packed_alignment(batches, examples)
    check_label_distribution(batches, ctx)
