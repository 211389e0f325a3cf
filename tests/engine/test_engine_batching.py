"""Plans cover each example once per epoch, respect the token budget and are deterministic;
collation keeps examples apart (positions restart, first label -100, targets shifted in-example)."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batching.bfd import best_fit_decreasing
from engine.batching.collate import collate
from engine.batching.plan import MicroBatchPlan, plan_epoch, resolve_batching, split_micro_batch
from engine.data.tokenize import IGNORE, TokenizedExample

MODES = ("padded", "packed", "padding_free")


def fake_examples(lengths: list[int], seed: int = 0) -> list[TokenizedExample]:
    rng = random.Random(seed)
    out = []
    for n in lengths:
        ids = tuple(rng.randint(5, 50) for _ in range(n))
        labels = tuple(IGNORE if i < n // 2 or i == 0 else t for i, t in enumerate(ids))
        if all(x == IGNORE for x in labels):
            labels = labels[:-1] + (ids[-1],)
        out.append(TokenizedExample(ids, labels, "completion", 1, f"f:{len(out) + 1}"))
    return out


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(2, 120), min_size=1, max_size=80),
    budget=st.integers(128, 1024),
    accum=st.integers(1, 4),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 5),
    grouping=st.sampled_from([0, 1, 3]),
)
def test_plan_covers_each_example_once_within_budget(lengths, budget, accum, mode, seed, grouping) -> None:
    plan = plan_epoch(lengths, mode, budget, accum, seed, epoch=0, row_tokens=min(128, budget),
                      length_grouping=grouping)
    seen = [i for step in plan.steps for mb in step for i in mb.examples()]
    assert sorted(seen) == list(range(len(lengths)))
    assert all(1 <= len(step) <= accum for step in plan.steps)
    for step in plan.steps:
        for mb in step:
            width = max(sum(lengths[i] for i in row) for row in mb.rows)
            single = len(mb.examples()) == 1
            assert single or len(mb.rows) * width <= budget


def test_plans_are_deterministic_and_change_per_epoch() -> None:
    lengths = [random.Random(1).randint(5, 60) for _ in range(300)]
    for mode in MODES:
        a = plan_epoch(lengths, mode, 512, 2, seed=3, epoch=0)
        assert a == plan_epoch(lengths, mode, 512, 2, seed=3, epoch=0)
        b = plan_epoch(lengths, mode, 512, 2, seed=3, epoch=1)
        assert a.steps != b.steps
        seen = sorted(i for step in b.steps for mb in step for i in mb.examples())
        assert seen == list(range(len(lengths)))  # every epoch covers every example once


@pytest.mark.parametrize("mode", MODES)
def test_random_micro_batches_mix_lengths_unless_grouped(mode) -> None:
    # BIN-like data: ten lengths, each the mark of a different kind of problem
    lengths = [14 + i % 10 for i in range(2000)]

    def kinds_per_micro_batch(grouping: int) -> float:
        plan = plan_epoch(lengths, mode, 1024, 1, seed=0, epoch=0, row_tokens=256, length_grouping=grouping)
        mbs = [mb for step in plan.steps for mb in step]
        return sum(len({lengths[i] for i in mb.examples()}) for mb in mbs) / len(mbs)

    mixed, grouped = kinds_per_micro_batch(1), kinds_per_micro_batch(0)
    assert mixed >= 8  # a random sample holds nearly every length
    assert grouped <= mixed / 2  # whole-epoch grouping: look-alike micro-batches


def test_best_fit_decreasing_fills_bins() -> None:
    bins = best_fit_decreasing([(0, 60), (1, 50), (2, 40), (3, 30), (4, 20), (5, 10), (6, 300)], 100)
    assert sorted(i for b in bins for i in b) == list(range(7))
    assert [6] in bins  # over capacity: a bin of its own
    assert sorted(map(sorted, bins)) == [[0, 2], [1, 3, 4], [5], [6]]  # 60+40, 50+30+20, 10, 300


def test_resolve_batching() -> None:
    assert resolve_batching("auto", "sdpa") == "packed"  # on the CPU
    assert resolve_batching("auto", "sdpa", "cuda") == "padded"
    assert resolve_batching("auto", "flash_attention_2") == "padding_free"
    assert resolve_batching("packed", "eager") == "packed"
    with pytest.raises(ValueError, match="padding_free"):
        resolve_batching("packed", "flash_attention_2")


def test_split_micro_batch() -> None:
    mb = MicroBatchPlan(((0,), (1,), (2,), (3,), (4,)))
    parts = split_micro_batch(mb, 2)
    assert sorted(i for p in parts for i in p.examples()) == [0, 1, 2, 3, 4] and len(parts) == 2
    flat = MicroBatchPlan(((0, 1, 2),))
    assert [p.rows for p in split_micro_batch(flat, 2)] == [((0, 2),), ((1,),)]


@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_collate_keeps_examples_apart(layout: str) -> None:
    exs = fake_examples([5, 3, 7])
    rows = ((0,), (1,), (2,)) if layout == "padded" else ((0, 1), (2,))
    b = collate(MicroBatchPlan(rows), exs, pad_id=0, layout=layout)
    assert b.n_tokens == 15 and b.n_supervised == sum(e.n_supervised for e in exs)
    if layout == "packed":
        assert b.position_ids[0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
        assert b.segment_ids[0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
        assert b.segment_ids[1].tolist() == [0] * 7 + [-1]  # example 2 alone, then padding
        # the last position of example 0 predicts nothing (example 1's first label is -100)
        assert b.targets[0, 4].item() == IGNORE
        assert b.targets[0, :4].tolist() == list(exs[0].labels[1:])
    else:
        assert b.position_ids is None and b.segment_ids is None
        assert b.targets[1, 2:].tolist() == [IGNORE] * 5  # padding and the last position
    assert torch.all(b.targets[:, -1] == IGNORE)


def test_thread_governor_moves_to_the_faster_count_and_back() -> None:
    from engine.threads import PROBE_EVERY, ThreadGovernor

    before = torch.get_num_threads()
    try:
        gov = ThreadGovernor(2, adaptive=True)
        speed = {2: 100.0, 1: 60.0}  # uncontended: two threads win
        for _ in range(PROBE_EVERY + 10):
            gov.after_step(speed[gov.current], 1.0)
        assert gov.current == 2 and set(gov.rate) == {1, 2}
        speed = {2: 5.0, 1: 55.0}  # another process took a core: two threads stall
        for _ in range(12):
            gov.after_step(speed[gov.current], 1.0)
        assert gov.current == 1 and torch.get_num_threads() == 1
        speed = {2: 100.0, 1: 60.0}  # the core is free again: the next probe returns to two
        for _ in range(PROBE_EVERY + 8):
            gov.after_step(speed[gov.current], 1.0)
        assert gov.current == 2
        fixed = ThreadGovernor(2, adaptive=False)
        fixed.after_step(1.0, 1.0)
        assert fixed.current == 2
    finally:
        torch.set_num_threads(before)


def test_padding_free_rows_carry_the_varlen_boundaries_flash_attn_needs() -> None:
    """Built once in collate, equal to what transformers would re-derive from position_ids in
    every layer (with a host sync each time)."""
    from transformers.modeling_flash_attention_utils import prepare_fa_kwargs_from_position_ids

    lengths = [7, 3, 12, 5, 9, 4]
    exs = fake_examples(lengths, seed=4)
    plan = plan_epoch(lengths, "padding_free", 200, 1, seed=0, epoch=0)
    for mb in plan.steps[0]:
        batch = collate(mb, exs, 0, "packed")
        assert batch.input_ids.shape[0] == 1
        (cu_q, cu_k), (max_q, max_k) = prepare_fa_kwargs_from_position_ids(batch.position_ids)
        kwargs = batch.varlen_kwargs()
        assert kwargs["cu_seq_lens_q"].dtype == torch.int32
        assert torch.equal(kwargs["cu_seq_lens_q"], cu_q) and torch.equal(kwargs["cu_seq_lens_k"], cu_k)
        assert kwargs["max_length_q"] == int(max_q) == kwargs["max_length_k"] == int(max_k)
        assert isinstance(kwargs["max_length_q"], int)
    several_rows = plan_epoch(lengths, "packed", 200, 1, seed=0, epoch=0, row_tokens=16)
    batch = collate(several_rows.steps[0][0], exs, 0, "packed")
    assert batch.input_ids.shape[0] > 1 and batch.varlen_kwargs() == {}
    padded = collate(plan_epoch(lengths, "padded", 200, 1, seed=0, epoch=0).steps[0][0], exs, 0, "padded")
    assert padded.varlen_kwargs() == {}


def test_packed_rows_follow_the_data_when_their_length_is_left_to_it() -> None:
    from engine.batching.plan import auto_row_tokens

    rng = random.Random(0)
    bin_like = [rng.randint(27, 225) for _ in range(3000)]  # the throughput benchmark's BIN data: 27-225 tokens
    assert auto_row_tokens(bin_like, 1024) == 256
    assert auto_row_tokens([rng.randint(20, 60) for _ in range(500)], 1024) == 64
    assert auto_row_tokens([rng.randint(20, 60) for _ in range(500)] + [700], 1024) == 64  # one outlier: 99 % fit
    assert auto_row_tokens([900] * 10, 512) == 512 and auto_row_tokens([], 1024) == 64

    def padding(row_tokens: int) -> float:
        plan = plan_epoch(bin_like, "packed", 1024, 1, seed=0, epoch=0, row_tokens=row_tokens)
        mbs = [mb for step in plan.steps for mb in step]
        slots = sum(len(mb.rows) * max(sum(bin_like[i] for i in r) for r in mb.rows) for mb in mbs)
        return 1 - sum(bin_like) / slots

    assert padding(0) == padding(256) < padding(128) / 3  # chosen from the data: a fraction of 128's padding
