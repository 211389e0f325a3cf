"""Nano DIO really learns: held-out exact-match accuracy on binary addition rises far above chance."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from engine.chat import render_prompt_ids
from engine.loading import load_model, load_tokenizer
from engine_helpers import addition_chat, circled, run_engine, write_addition_data, write_job

WIDTH = 4  # operands 0..15 written with 4 circled bits, sums with 5


def accuracy(checkpoint: Path, pairs: list[tuple[int, int]]) -> float:
    tok = load_tokenizer(checkpoint)
    model = load_model(checkpoint, torch.device("cpu"), "sdpa").eval()
    correct = 0
    for a, b in pairs:
        prompt = addition_chat(a, b, WIDTH)["messages"][:1]
        ids = torch.tensor([render_prompt_ids(tok, prompt)])
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=tok.eos_token_id,
                                 pad_token_id=tok.pad_token_id)
        correct += tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip() == circled(a + b, WIDTH + 1)
    return correct / len(pairs)


@pytest.mark.slow
def test_nano_learns_binary_addition(tmp_path: Path, nano_dir: Path) -> None:
    pairs = [(a, b) for a in range(16) for b in range(16)]
    random.Random(0).shuffle(pairs)
    held_out, train = pairs[:48], pairs[48:]
    data = write_addition_data(tmp_path / "add.jsonl", 3000, seed=1, pairs=train, width=WIDTH)
    job = write_job(tmp_path / "job.json", model_dir=str(nano_dir), data_files=[{"path": data.name}],
                    output_dir="ckpt", save_every_steps=0, log_every_steps=50, threads=1,
                    hyperparameters={"max_steps": 240, "epochs": 100, "tokens_per_micro_batch": 1024,
                                     "learning_rate": 3e-3, "warmup_steps": 20, "validation_fraction": 0.02})
    before = accuracy(nano_dir, held_out)
    code, events, err = run_engine(job, timeout=600)
    assert code == 0, err[-2000:]
    after = accuracy(Path(events[-1].last_checkpoint_path), held_out)
    chance = 1 / 2 ** (WIDTH + 1)
    assert before <= chance
    print(f"held-out exact match {before:.2f} -> {after:.2f}")
    assert after >= 0.3, f"held-out exact match {after:.2f} (chance {chance:.3f})"
