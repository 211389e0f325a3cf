"""A Qwen3 hero trained under a clean-ChatML profile (emoji_think, regime3) is saved with the
template it was trained with, so an exported checkpoint renders the same in vLLM, llama.cpp or
transformers as in our node: AutoTokenizer.apply_chat_template from the saved folder gives the
engine renderer's token ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.chat import detect_style, render_chat, render_prompt_ids
from engine_helpers import run_engine, write_job

MESSAGES = [{"role": "system", "content": "Answer in circled binary."},
            {"role": "user", "content": "①⓪ + ⓪① ="}, {"role": "assistant", "content": "①①"},
            {"role": "user", "content": "and ①①?"}, {"role": "assistant", "content": "①①⓪"}]


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory, qwen_tokenizer) -> Path:
    """A two-layer Qwen3 with the real Qwen3 tokenizer and its own (think-injecting) template."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-qwen") / "base"
    cfg = Qwen3Config(vocab_size=len(qwen_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, tie_word_embeddings=True,
                      eos_token_id=qwen_tokenizer.eos_token_id, pad_token_id=qwen_tokenizer.pad_token_id)
    torch.manual_seed(0)
    Qwen3ForCausalLM(cfg).save_pretrained(str(folder))
    qwen_tokenizer.save_pretrained(str(folder))
    return folder


@pytest.mark.parametrize("profile", ["emoji_think", "none"])  # regime3 takes the same path as emoji_think
def test_a_checkpoint_renders_as_it_was_trained(tmp_path: Path, tiny_qwen: Path, profile: str) -> None:
    from transformers import AutoTokenizer

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"messages": MESSAGES}) + "\n" for _ in range(8)), encoding="utf-8")
    job = write_job(tmp_path / "job.json", model_dir=str(tiny_qwen), data_files=[{"path": str(data)}],
                    output_dir=str(tmp_path / "ckpt"), threads=1, profile=profile, save_every_steps=0,
                    hyperparameters={"max_steps": 1, "tokens_per_micro_batch": 512, "validation_fraction": 0.0})
    code, events, err = run_engine(job)
    assert code == 0, err[-2000:]
    saved = AutoTokenizer.from_pretrained(events[-1].last_checkpoint_path)
    trained_style = "qwen3" if profile == "none" else "chatml"
    assert detect_style(saved) == trained_style
    whole = saved.apply_chat_template(MESSAGES, tokenize=True)["input_ids"]
    assert whole == render_chat(saved, MESSAGES, trained_style).input_ids
    # the node asks a Qwen3-style hero in non-thinking mode (an empty think block), as it was trained
    extra = {"enable_thinking": False} if trained_style == "qwen3" else {}
    prompt = saved.apply_chat_template(MESSAGES[:-1], tokenize=True, add_generation_prompt=True, **extra)["input_ids"]
    assert prompt == render_prompt_ids(saved, MESSAGES[:-1], trained_style)
