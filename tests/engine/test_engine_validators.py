"""Each masking validator passes good batches and rejects a batch built to break it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from engine.batching.collate import collate
from engine.batching.plan import MicroBatchPlan
from engine.chat import response_template_ids
from engine.data.records import ChatExample, CompletionExample
from engine.data.tokenize import IGNORE, TokenizeStats, TokenizedExample, tokenize_example
from engine.loading import load_tokenizer
from engine.profiles import get_profile
from engine.validators import (
    MaskingContext,
    MaskingError,
    check_label_distribution,
    check_masked_ratio,
    check_no_role_text_trained,
    check_packed_alignment,
    check_region_count,
    validate_batches,
)
from engine_helpers import addition_chat


@pytest.fixture(scope="module")
def tok(nano_dir: Path):
    return load_tokenizer(nano_dir)


@pytest.fixture(scope="module")
def ctx(tok) -> MaskingContext:
    return MaskingContext(vocab_size=len(tok), pad_id=tok.pad_token_id,
                          im_start_id=tok.convert_tokens_to_ids("<|im_start|>"),
                          response_template=tuple(response_template_ids(tok)),
                          masked_ratio_min=0.25, masked_ratio_max=0.995)


def chat(tok, messages) -> TokenizedExample:
    return tokenize_example(tok, ChatExample(messages, "t:1"), get_profile("none"), "chatml", 512, "drop",
                            TokenizeStats())


@pytest.fixture(scope="module")
def good(tok) -> list[TokenizedExample]:
    exs = [chat(tok, addition_chat(a, b)["messages"]) for a, b in [(3, 5), (12, 7), (100, 27), (1, 1)]]
    multi = [{"role": "system", "content": "Add."}] + addition_chat(2, 2)["messages"] + addition_chat(4, 4)["messages"]
    exs.append(chat(tok, multi))
    exs.append(tokenize_example(tok, CompletionExample("①+①=", "①⓪", "t:c"), get_profile("none"), "chatml", 64,
                                "drop", TokenizeStats()))
    return exs


def packed(exs, tok):
    return [collate(MicroBatchPlan((tuple(range(len(exs))),)), exs, tok.pad_token_id, "packed")]


def padded(exs, tok):
    return [collate(MicroBatchPlan(tuple((i,) for i in range(len(exs)))), exs, tok.pad_token_id, "padded")]


def with_labels(ex: TokenizedExample, labels) -> TokenizedExample:
    return dataclasses.replace(ex, labels=tuple(labels))


def test_good_batches_pass(good, tok, ctx) -> None:
    validate_batches(packed(good, tok), good, ctx)
    validate_batches(padded(good, tok), good, ctx)


def test_masked_ratio_too_low(good, tok, ctx) -> None:
    everything = [with_labels(e, (IGNORE,) + e.input_ids[1:]) for e in good]  # prompts trained too
    with pytest.raises(MaskingError, match="masked"):
        check_masked_ratio(padded(everything, tok), ctx)


def test_masked_ratio_too_high(good, tok, ctx) -> None:
    strict = dataclasses.replace(ctx, masked_ratio_max=0.5)
    with pytest.raises(MaskingError, match="almost nothing is trained"):
        check_masked_ratio(padded(good, tok), strict)


def test_region_count_mismatch(good, tok, ctx) -> None:
    multi = good[4]
    labels = list(multi.labels)
    first_span_end = next(i for i in range(1, len(labels)) if labels[i - 1] != IGNORE and labels[i] == IGNORE)
    first_span_start = max(i for i in range(first_span_end) if labels[i] == IGNORE) + 1
    for i in range(first_span_start, first_span_end):
        labels[i] = IGNORE  # the first assistant turn is no longer trained
    broken = [with_labels(multi, labels)]
    with pytest.raises(MaskingError, match="trained regions"):
        check_region_count(padded(broken, tok), broken, ctx)


def test_user_text_trained(good, tok, ctx) -> None:
    ex = good[0]
    labels = list(ex.labels)
    labels[4] = ex.input_ids[4]  # a digit of the user's question
    broken = [with_labels(ex, labels)]
    with pytest.raises(MaskingError, match="system/user text"):
        check_no_role_text_trained(padded(broken, tok), broken, ctx)


def test_role_marker_trained(good, tok, ctx) -> None:
    ex = good[0]
    labels = list(ex.labels)
    start = max(i for i, t in enumerate(ex.input_ids) if t == ctx.im_start_id)
    labels[start] = ex.input_ids[start]
    broken = [with_labels(ex, labels)]
    with pytest.raises(MaskingError, match="role marker"):
        check_no_role_text_trained(padded(broken, tok), broken, ctx)


def test_first_label_trained_breaks_packing(good, tok) -> None:
    ex = good[1]
    broken = [good[0], with_labels(ex, (ex.input_ids[0],) + ex.labels[1:])]
    with pytest.raises(MaskingError, match="first label"):
        check_packed_alignment(packed(broken, tok), broken)


def test_packed_row_misaligned(good, tok) -> None:
    exs = good[:3]
    batch = packed(exs, tok)[0]
    batch.targets = torch.roll(batch.targets, shifts=1, dims=1)  # spans shifted across example borders
    with pytest.raises(MaskingError, match="spans do not match"):
        check_packed_alignment([batch], exs)


def test_padding_trained(good, tok) -> None:
    exs = good[:2]
    batch = padded(exs, tok)[0]
    short = min(range(2), key=lambda i: len(exs[i]))
    batch.targets[short, -1] = 5
    with pytest.raises(MaskingError, match="padding"):
        check_packed_alignment([batch], exs)


def test_labels_out_of_vocab_pad_or_degenerate(good, tok, ctx) -> None:
    batch = padded(good, tok)
    with pytest.raises(MaskingError, match="outside the vocabulary"):
        check_label_distribution(batch, dataclasses.replace(ctx, vocab_size=10))
    pad_batch = padded(good, tok)
    pad_batch[0].targets[pad_batch[0].targets != IGNORE] = tok.pad_token_id
    with pytest.raises(MaskingError, match="pad token"):
        check_label_distribution(pad_batch, ctx)
    same = [chat(tok, addition_chat(0, 0)["messages"]) for _ in range(12)]  # every answer is "⓪"
    with pytest.raises(MaskingError, match="degenerate"):
        check_label_distribution(padded(same, tok), dataclasses.replace(ctx, max_top_label_share=0.4))
