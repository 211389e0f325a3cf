"""Lean checkpoints on the Qwen3-0.6B shape: the size of one checkpoint as the engine writes it,
before and after thinning, for fp32 training (the CPU) and bf16 training (a CUDA rig).

    python benchmarks/lean_checkpoints.py [--shape Qwen3-0.6B] [--keep DIR]

Random weights of the real shape and the real Qwen3 tokenizer (benchmarks/qwen_shape.py); the
optimizer state is real AdamW state (one step on zero gradients fills both moments); the save is
the engine's own `save_checkpoint` and the thinning the daemon's `thin_checkpoint`. Baseline, in
the same run: the fp32 checkpoint with its resume state, the only format before lean
checkpoints. Needs about 10 GB of RAM and 20 GB of free disk for the 0.6B shape.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from qwen_files import qwen_tokenizer_dir  # noqa: E402

TARGET_GB = 1.3  # a thinned checkpoint of the 0.6B shape (issue: lean checkpoints)


def model_of(shape_name: str):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from backend.vram import QWEN3_SHAPES

    s = QWEN3_SHAPES[shape_name]
    cfg = Qwen3Config(vocab_size=s.vocab, hidden_size=s.hidden, intermediate_size=s.intermediate,
                      num_hidden_layers=s.layers, num_attention_heads=s.heads, num_key_value_heads=s.kv_heads,
                      head_dim=s.head_dim, tie_word_embeddings=s.tied_embeddings, max_position_embeddings=40960)
    torch.manual_seed(0)
    return Qwen3ForCausalLM(cfg)


def optimizer_state(model) -> dict:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for p in model.parameters():
        p.grad = None
    return opt.state_dict()


def fields(step: int) -> dict:
    resume = {"init_step": 0, "job_step": step, "total_steps": step, "epoch": 0, "step_in_epoch": step,
              "data_fingerprint": "benchmark", "job_id": "lean"}
    return {"job_step": step, "init_step": 0, "reason": "periodic", "job_id": "lean", "resume": resume}


def main() -> None:
    import torch
    from transformers import AutoTokenizer

    from contracts.checkpoint import thin_checkpoint
    from contracts.fsutil import folder_size
    from engine.checkpointing import MASTER_WEIGHTS, master_weights, save_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="Qwen3-0.6B")
    ap.add_argument("--keep", type=Path, help="write the checkpoints here and keep them (default: a temp folder)")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="lean-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = model_of(args.shape)
    tokenizer = AutoTokenizer.from_pretrained(str(qwen_tokenizer_dir()))
    params = sum(p.numel() for p in model.parameters())
    moments = optimizer_state(model)
    print(f"lean_checkpoints: {args.shape}, {params / 1e6:.0f}M parameters, model and AdamW state built in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)

    rows = []
    for label, dtype, state in (
        ("fp32 training (CPU), with its resume state: the baseline", None, {"optimizer": moments}),
        ("bf16 training (CUDA), with its resume state (moments + fp32 master copy)", torch.bfloat16,
         {"optimizer": moments, MASTER_WEIGHTS: master_weights(model)}),
    ):
        started = time.perf_counter()
        out = work / ("bf16" if dtype else "fp32")
        folder, _ = save_checkpoint(model, tokenizer, out, 100, fields(100), state, serving_dtype=dtype)
        full = folder_size(folder)
        rows.append((label, full, time.perf_counter() - started))
        started = time.perf_counter()
        thin_checkpoint(folder)
        thinned = folder_size(folder)
        rows.append((("bf16" if dtype else "fp32") + " checkpoint thinned to its weights", thinned,
                     time.perf_counter() - started))
        if args.keep is None:
            shutil.rmtree(out, ignore_errors=True)

    baseline = rows[0][1]
    print(f"\n| checkpoint of {args.shape} | size | vs the baseline | seconds to write / thin |")
    print("|---|---:|---:|---:|")
    for label, size, seconds in rows:
        print(f"| {label} | {size / 1e9:.2f} GB | {size / baseline:.2f}x | {seconds:.1f} |")
    thin_bf16 = rows[3][1]
    verdict = "meets" if thin_bf16 <= TARGET_GB * 1e9 else "misses"
    print(f"\nthinned bf16: {thin_bf16 / 1e9:.2f} GB, {verdict} the {TARGET_GB} GB target; "
          f"the baseline is {baseline / thin_bf16:.1f}x that")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
