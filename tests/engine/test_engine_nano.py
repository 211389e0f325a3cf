"""Nano DIO: deterministic, loadable by Auto classes, byte-level complete, compact where it matters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from contracts.checkpoint import sha256_file
from contracts.nano import NanoSpec
from engine.chat import render_chat
from engine.nano_model import create_nano
from engine_helpers import ROOT, engine_cmd, engine_env


def test_default_nano_shape(nano_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(nano_dir))
    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    assert type(model).__name__ == "Qwen3ForCausalLM"
    params = sum(p.numel() for p in model.parameters())
    assert 800_000 < params < 900_000, params
    assert len(tok) == NanoSpec().vocab_size == model.config.vocab_size
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert tok.pad_token_id != tok.eos_token_id
    assert model.config.eos_token_id == tok.eos_token_id


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path: Path, nano_dir: Path) -> None:
    again = create_nano(tmp_path / "again", seed=0)
    other = create_nano(tmp_path / "other", seed=1)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert sha256_file(again / name) == sha256_file(nano_dir / name)
    assert sha256_file(other / "model.safetensors") != sha256_file(nano_dir / "model.safetensors")
    assert sha256_file(other / "tokenizer.json") == sha256_file(nano_dir / "tokenizer.json")


def test_refuses_a_folder_with_content(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        create_nano(tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("text", ["①⓪①+①①=①⓪⓪⓪", "🤔 thinking 💡 done 🏁", "日本語のテキスト ✨🦄", "naïve café — “quotes”",
                                  "tab\tand\r\nnewlines", "\x00\x7f odd bytes", "⑳⑲ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"])
def test_any_utf8_round_trips_without_unknown_tokens(nano_dir: Path, text: str) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.unk_token_id is None or tok.unk_token_id not in ids
    assert tok.decode(ids) == text


def test_compact_pieces(nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    for piece in ("⓪", "①", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "user", "assistant",
                  "system", "🤔", "🏁"):
        assert len(tok.encode(piece, add_special_tokens=False)) == 1, piece
    # circled binary costs one token per bit, even glued to operators
    assert len(tok.encode("①⓪①①+①①=", add_special_tokens=False)) == 8


def test_hf_chat_template_matches_engine_rendering(nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    convs = [
        [{"role": "user", "content": "①+①="}, {"role": "assistant", "content": "①⓪"}],
        [{"role": "system", "content": "Add."}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
         {"role": "user", "content": "c"}, {"role": "assistant", "content": "d", "reasoning_content": "why"}],
    ]
    for msgs in convs:
        r = render_chat(tok, msgs)
        assert r.text == tok.apply_chat_template(msgs, tokenize=False)
        assert r.input_ids == tok.apply_chat_template(msgs, tokenize=True)["input_ids"]
    gen = tok.apply_chat_template(convs[0][:1], tokenize=False, add_generation_prompt=True)
    assert gen.endswith("<|im_start|>assistant\n") and "<think>" not in gen


def test_cli_nano_with_seed_and_spec(tmp_path: Path) -> None:
    out = tmp_path / "hero"
    spec = json.dumps({"hidden_size": 32, "num_layers": 1, "num_heads": 2, "num_kv_heads": 1,
                       "intermediate_size": 64, "vocab_size": 400})
    proc = subprocess.run(engine_cmd("nano", str(out), "--seed", "3", "--spec", spec), capture_output=True,
                          text=True, cwd=ROOT, env=engine_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["hidden_size"] == 32 and cfg["vocab_size"] == 400
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(out))
    with torch.no_grad():
        logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 400)
