"""The loss and gradient of a step do not depend on how its examples are batched.

For every batching mode and forward path, the engine's step equals the token-weighted mean of
the same examples run one at a time through Hugging Face's own forward and loss (fp32,
relative error < 1e-5); 8 examples as 8x1 equal 2x4 with gradient accumulation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from engine.batching.collate import collate
from engine.batching.plan import plan_epoch
from engine.data.records import ChatExample
from engine.data.tokenize import TokenizeStats, tokenize_example
from engine.forward import ForwardConfig
from engine.loading import load_model, load_tokenizer
from engine.profiles import get_profile
from engine.step import forward_backward
from engine_helpers import addition_chat

TOL = 1e-5


def examples(tok, n: int, seed: int = 0, width: int | None = None, top: int = 255):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        msgs = addition_chat(rng.randint(0, top), rng.randint(0, top), width)["messages"]
        if width is None and i % 3 == 0:  # some multi-turn examples with a system prompt
            msgs = [{"role": "system", "content": "Add."}] + msgs + [{"role": "user", "content": "again?"},
                                                                     {"role": "assistant", "content": "yes ①"}]
        out.append(tokenize_example(tok, ChatExample(msgs, f"t:{i}"), get_profile("none"), "chatml", 256, "drop",
                                    TokenizeStats()))
    return out


def flat_grad(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def reference(model, exs) -> tuple[float, torch.Tensor]:
    """One example at a time through the model's own forward and loss, token-weighted."""
    model.zero_grad(set_to_none=True)
    n_total = sum(e.n_supervised for e in exs)
    total = 0.0
    for e in exs:
        out = model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels]))
        (out.loss * e.n_supervised / n_total).backward()
        total += out.loss.item() * e.n_supervised
    return total / n_total, flat_grad(model)


def engine_step(model, tok, exs, mode: str, cfg: ForwardConfig, budget: int, accum: int):
    plan = plan_epoch([len(e) for e in exs], mode, budget, accum, seed=0, epoch=0, row_tokens=64)
    assert len(plan.steps) == 1, "the test wants every example in one optimizer step"
    layout = "padded" if mode == "padded" else "packed"
    batches = [collate(mb, exs, tok.pad_token_id, layout) for mb in plan.steps[0]]
    model.zero_grad(set_to_none=True)
    loss = forward_backward(model, batches, cfg)
    return float(loss), flat_grad(model), batches


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def tok(nano_dir: Path):
    return load_tokenizer(nano_dir)


@pytest.mark.parametrize("mode", ["padded", "packed", "padding_free"])
@pytest.mark.parametrize(("attention", "fast", "ckpt"), [("sdpa", True, False), ("sdpa", False, False),
                                                          ("eager", False, False), ("sdpa", True, True)],
                         ids=["fast-sdpa", "hf-sdpa", "hf-eager", "fast-ckpt"])
def test_step_equals_examples_one_by_one(
    nano_dir: Path, tok, mode: str, attention: str, fast: bool, ckpt: bool
) -> None:
    torch.manual_seed(0)
    model = load_model(nano_dir, torch.device("cpu"), attention)
    exs = examples(tok, 24)
    ref_loss, ref_grad = reference(model, exs)
    cfg = ForwardConfig.for_model(model, attention, ckpt, None, allow_fast=fast)
    assert cfg.fast == fast
    loss, grad, batches = engine_step(model, tok, exs, mode, cfg, budget=300, accum=64)
    assert len(batches) > 1  # several micro-batches, several examples per row in packed modes
    if mode != "padded":
        assert any(len(row) > 1 for b in batches for row in b.rows)
    assert abs(loss - ref_loss) / ref_loss < TOL
    assert rel(grad, ref_grad) < TOL


def test_8x1_equals_2x4(nano_dir: Path, tok) -> None:
    model = load_model(nano_dir, torch.device("cpu"), "sdpa")
    cfg = ForwardConfig.for_model(model, "sdpa", False, None)
    exs = examples(tok, 8, seed=1, width=6, top=63)  # equal lengths: the budget decides the split exactly
    n = len(exs[0])
    assert all(len(e) == n for e in exs)
    loss_a, grad_a, batches_a = engine_step(model, tok, exs, "padded", cfg, budget=8 * n, accum=1)
    loss_b, grad_b, batches_b = engine_step(model, tok, exs, "padded", cfg, budget=2 * n, accum=4)
    assert [len(b.rows) for b in batches_a] == [8] and [len(b.rows) for b in batches_b] == [2, 2, 2, 2]
    assert abs(loss_a - loss_b) / loss_a < TOL
    assert rel(grad_a, grad_b) < TOL


@pytest.mark.parametrize("mode", ["padded", "packed"])
def test_the_cuda_masked_path_with_expanded_kv_heads_matches(nano_dir: Path, tok, mode: str, monkeypatch) -> None:
    """On CUDA a masked sdpa call copies key/value heads up to the query heads (enable_gqa would
    force the math kernel there). Forced on the CPU, that path gives the same step."""
    import engine.fast_qwen3 as fq

    assert fq.expand_kv_heads("cuda", True) and not fq.expand_kv_heads("cuda", False)
    assert not fq.expand_kv_heads("cpu", True)
    torch.manual_seed(0)
    model = load_model(nano_dir, torch.device("cpu"), "sdpa")
    assert model.config.num_key_value_heads < model.config.num_attention_heads
    exs = examples(tok, 16, seed=2)
    ref_loss, ref_grad = reference(model, exs)
    calls = []
    monkeypatch.setattr(fq, "expand_kv_heads", lambda device_type, masked: calls.append(masked) or masked)
    cfg = ForwardConfig.for_model(model, "sdpa", False, None)
    loss, grad, _ = engine_step(model, tok, exs, mode, cfg, budget=300, accum=64)
    assert True in calls  # the last layer's selected queries always take a mask
    assert abs(loss - ref_loss) / ref_loss < TOL
    assert rel(grad, ref_grad) < TOL


def test_the_chunked_loss_equals_the_whole_one(nano_dir: Path, tok, monkeypatch) -> None:
    """Qwen3's vocabulary makes the LM head and loss run in chunks (one chunk's fp32 logits at a
    time); forced on nano with tiny chunks, the step's loss and gradient are the same."""
    import engine.forward as fw

    model = load_model(nano_dir, torch.device("cpu"), "sdpa")
    exs = examples(tok, 16, seed=3)
    cfg = ForwardConfig.for_model(model, "sdpa", False, None)
    whole_loss, whole_grad, batches = engine_step(model, tok, exs, "packed", cfg, budget=300, accum=64)
    assert fw.loss_chunk_rows(151_936) == 1766 and fw.loss_chunk_rows(model.config.vocab_size) > 10_000
    monkeypatch.setattr(fw, "MIN_CHUNK_ROWS", 7)
    monkeypatch.setattr(fw, "LOGIT_CHUNK_ELEMENTS", 7 * model.config.vocab_size)
    assert fw.loss_chunk_rows(model.config.vocab_size) == 7
    assert max(b.n_supervised for b in batches) > 3 * 7  # several chunks per micro-batch
    loss, grad, _ = engine_step(model, tok, exs, "packed", cfg, budget=300, accum=64)
    assert abs(loss - whole_loss) / whole_loss < TOL
    assert rel(grad, whole_grad) < TOL
