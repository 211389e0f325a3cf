"""Memory admission for the Qwen3-0.6B shape: refused on a machine with too little free RAM
(the free figure is given, the model's config is the real shape's), with fixes that each fit
when recomputed; admitted where there is room; the estimate's parts add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.config import check_config
from backend.memory_admission import GIB, admit, battle_admission, node_pool_bytes, shape_of, trainer_estimate
from backend.slot import SaveSlot
from backend.vram import QWEN3_SHAPES


@pytest.fixture
def qwen_save(tmp_path: Path, new_save: SaveSlot):
    """A save whose hero is a folder with Qwen3-0.6B's config.json (written by transformers)."""
    from transformers import Qwen3Config

    shape = QWEN3_SHAPES["Qwen3-0.6B"]
    folder = tmp_path / "qwen3-0.6b"
    Qwen3Config(vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                head_dim=shape.head_dim, tie_word_embeddings=True).save_pretrained(str(folder))
    config, problems = check_config(new_save.config_path)
    assert config is not None, problems
    hero = config.hero.model_copy(update={"base_model": str(folder)})
    hosts = config.hosts.model_copy(update={"trainer": config.hosts.trainer.model_copy(update={"device": "cpu"})})
    return new_save, config.model_copy(update={"hero": hero, "hosts": hosts}), folder


def test_the_shape_is_read_from_config_json(qwen_save) -> None:
    _, _, folder = qwen_save
    assert shape_of(folder) == QWEN3_SHAPES["Qwen3-0.6B"]
    assert shape_of(folder.parent / "nowhere") is None


def test_too_little_free_ram_refuses_the_06b_shape_with_fixes_that_fit(qwen_save) -> None:
    slot, config, _ = qwen_save
    refused = battle_admission(slot, config, free_override=8 * GIB)
    assert not refused.ok and refused.where == "RAM"
    text = refused.message()
    assert "this battle needs about" in text and "8.0 GB is free" in text and "short by" in text
    assert "AdamW" in text and "the local node's pool" in text
    # fp32 on the CPU: 596M parameters x (4 weights + 4 gradients + 8 AdamW) = 8.9 GiB before activations
    assert refused.needed > 8 * GIB
    fixes = refused.fixes
    assert any(f.startswith("hosts.inference.pool:") for f in fixes) or any("smaller hero" in f for f in fixes)
    assert fixes[-1].startswith("the node on another host or GPU")
    roomy = battle_admission(slot, config, free_override=64 * GIB)
    assert roomy.ok and "of 64.0 GB free RAM" in roomy.detail


def test_each_fix_alone_makes_it_fit(qwen_save) -> None:
    slot, config, _ = qwen_save
    shape = QWEN3_SHAPES["Qwen3-0.6B"]
    t = config.training.model_copy(update={"tokens_per_micro_batch": 16384, "max_length": 2048})
    big = config.model_copy(update={"training": t})
    trainer = trainer_estimate(shape, big, "cpu")
    free = trainer.total - trainer.activations // 2 + node_pool_bytes(shape, big, "cpu") + GIB
    verdict = admit(shape, big, "cpu", free, "RAM", node_shares=True)
    assert not verdict.ok
    micro = next(f for f in verdict.fixes if f.startswith("training.tokens_per_micro_batch"))
    tokens = int(micro.split(":")[1].split()[0])
    accum = int(micro.split("grad_accum:")[1].split()[0])
    assert tokens < 16384 and tokens * accum == 16384  # the same tokens per optimizer step
    smaller = big.model_copy(update={"training": t.model_copy(update={"tokens_per_micro_batch": tokens})})
    assert admit(shape, smaller, "cpu", free, "RAM", node_shares=True).ok
    assert "training.gradient_checkpointing: true" in verdict.fixes
    ckpt = big.model_copy(update={"training": t.model_copy(update={"gradient_checkpointing": True})})
    assert admit(shape, ckpt, "cpu", free, "RAM", node_shares=True).ok


def test_a_hub_id_not_on_disk_is_admitted_unchecked(new_save: SaveSlot) -> None:
    config, _ = check_config(new_save.config_path)
    hub = config.model_copy(update={"hero": config.hero.model_copy(update={"base_model": "Qwen/Qwen3-0.6B"})})
    verdict = battle_admission(new_save, hub, free_override=GIB)
    assert verdict.ok and "memory not checked" in verdict.detail
