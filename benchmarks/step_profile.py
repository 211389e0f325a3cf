"""Where one optimizer step's time goes: the engine's own Trainer, profiled with torch.profiler.

    python benchmarks/step_profile.py [--rows 128 256] [--steps 12] [--warmup 4] [--threads 1]

The data and model of benchmarks/train_throughput.py (nano DIO, seed 0; 2,000 BIN examples), the
same token budget (64 x the mean example length), `packed` rows of each `--rows` length (0 = the
length the engine's `auto` picks from the data). For each: `--warmup` steps, then `--steps` steps
under torch.profiler (CPU activities, no shapes or stacks, which cost time themselves).

Two splits are printed per row, as Markdown:
- phases, timed with perf_counter around the Trainer's own calls: collate (build and copy the
  micro-batches), forward + backward, gradient clipping, the AdamW update;
- operators, the profiler's self CPU time summed into groups: matmuls (mm/addmm/bmm and their
  backward), attention (sdpa and its backward), the LM head's softmax and loss, RMSNorm, the
  optimizer's foreach kernels, element-wise ops, copies and indexing, and the rest.
Baseline, measured in the same run: the same number of bare `torch.mm` FLOPs at this thread count
(the fp32 matmul peak), so "matmul share" and "% of peak" read against what the machine can do.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_throughput import matmul_peak, prepare  # noqa: E402

GROUPS = (  # (group, substrings of the operator name), first match wins
    ("attention", ("scaled_dot_product", "_flash_attention", "_efficient_attention", "sdpa")),
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "MmBackward",
                "AddmmBackward", "BmmBackward")),
    ("softmax + loss", ("log_softmax", "nll_loss", "cross_entropy", "_softmax")),
    ("rms_norm", ("rms_norm", "RmsNorm", "aten::rsqrt", "aten::pow", "aten::mean")),
    ("optimizer (foreach)", ("_foreach_", "Optimizer.step", "_fused_adamw")),
    ("copies + indexing", ("aten::copy_", "aten::index", "aten::gather", "aten::scatter", "aten::cat",
                           "aten::masked", "aten::nonzero", "aten::embedding", "aten::clone", "aten::contiguous",
                           "aten::where", "aten::to", "aten::_to_copy", "aten::fill_", "aten::zero_")),
    ("element-wise", ("aten::add", "aten::mul", "aten::sub", "aten::div", "aten::neg", "aten::silu", "aten::sigmoid",
                      "aten::cos", "aten::sin", "aten::exp", "aten::threshold", "aten::eq", "aten::ne",
                      "aten::le", "aten::lt", "aten::bitwise", "aten::sum")),
)


def group_of(name: str) -> str:
    for group, keys in GROUPS:
        if any(k in name for k in keys):
            return group
    return "other"


def build_trainer(work: Path, row_tokens: int, budget: int, steps: int, threads: int):
    from contracts.engine_job import EngineJob
    from engine.control import ControlChannel
    from engine.events import EventWriter
    from engine.runner import build_setup
    from engine.trainer import Trainer

    job = EngineJob.model_validate({
        "model_dir": str(work / "nano"), "data_files": [{"path": str(work / "bin.jsonl")}],
        "output_dir": str(work / f"out-{row_tokens}"), "threads": threads, "save_every_steps": 0,
        "log_every_steps": 1000,
        "hyperparameters": {"max_steps": steps, "epochs": 10, "tokens_per_micro_batch": budget, "warmup_steps": 5,
                            "validation_fraction": 0.0, "batching": "packed", "packed_row_tokens": row_tokens}})
    return Trainer(build_setup(job, EventWriter(io.StringIO()), ControlChannel()))


def timed_phases(tr) -> dict[str, list[float]]:
    """Wrap the Trainer's calls so each step's collate / forward+backward / clip / update time is kept."""
    import engine.trainer as trainer_mod

    phases: dict[str, list[float]] = defaultdict(list)

    def timing(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phases[name].append(time.perf_counter() - t0)
        return wrapper

    tr.collate_step = timing("collate", tr.collate_step)
    trainer_mod.forward_backward = timing("forward + backward", trainer_mod.forward_backward)
    tr.optimizer.step = timing("AdamW update", tr.optimizer.step)
    import torch

    torch.nn.utils.clip_grad_norm_ = timing("gradient clipping", torch.nn.utils.clip_grad_norm_)
    return phases


def profile_row(work: Path, row_tokens: int, budget: int, args: argparse.Namespace) -> dict:
    import torch
    from torch.profiler import ProfilerActivity, profile

    tr = build_trainer(work, row_tokens, budget, args.warmup + args.steps + 1, args.threads)
    torch.set_num_threads(args.threads)
    for _ in range(args.warmup):
        tr.train_step()
    phases = timed_phases(tr)
    flops0, t0 = tr.window.flops, time.perf_counter()
    steps_t0 = len(tr.window.losses)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            tr.train_step()
    wall = time.perf_counter() - t0
    flops = tr.window.flops - flops0
    groups: dict[str, float] = defaultdict(float)
    ops = []
    for ev in prof.key_averages():
        groups[group_of(ev.key)] += ev.self_cpu_time_total / 1e6
        ops.append((ev.self_cpu_time_total / 1e6, ev.count, ev.key))
    top = [{"op": k, "s": s, "calls": n} for s, n, k in sorted(ops, reverse=True)[:args.top]]
    profiled = sum(groups.values())
    return {"row_tokens": tr.row_tokens, "steps": len(tr.window.losses) - steps_t0, "wall_s": wall,
            "model_flops": flops, "phases": {k: sum(v) for k, v in phases.items()},
            "groups": dict(sorted(groups.items(), key=lambda kv: -kv[1])), "profiled_s": profiled, "top": top}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[0, 128])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--top", type=int, default=12, help="operators listed one by one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        info = prepare(work, args.examples)
        budget = round(64 * info["mean_len"])
        peak = matmul_peak(args.threads)
        results = [profile_row(work, r, budget, args) for r in args.rows]
        peak = max(peak, matmul_peak(args.threads))
    print(json.dumps({"data": info, "budget": budget, "peak_flops": peak, "rows": results}), flush=True)
    print(f"\nfp32 matmul peak at {args.threads} thread(s): {peak / 1e9:.1f} GFLOP/s (baseline, same run); "
          f"data: {info['n']} examples, mean {info['mean_len']:.1f} tokens; {budget} tokens per micro-batch\n")
    for r in results:
        achieved = r["model_flops"] / r["wall_s"]
        print(f"packed-{r['row_tokens']}: {r['steps']} steps in {r['wall_s']:.2f} s under the profiler, "
              f"{achieved / 1e9:.1f} GFLOP/s of model work = {achieved / peak:.1%} of the peak\n")
        print("| phase | s | share |\n|---|---:|---:|")
        total = sum(r["phases"].values())
        for name, secs in r["phases"].items():
            print(f"| {name} | {secs:.3f} | {secs / r['wall_s']:.1%} |")
        print(f"| the rest of the step (loop, accounting) | {r['wall_s'] - total:.3f} | "
              f"{(r['wall_s'] - total) / r['wall_s']:.1%} |\n")
        print("| operators (self CPU time) | s | share |\n|---|---:|---:|")
        for name, secs in r["groups"].items():
            print(f"| {name} | {secs:.3f} | {secs / r['profiled_s']:.1%} |")
        print("\n| operator | group | calls | s | share |\n|---|---|---:|---:|---:|")
        for op in r["top"]:
            print(f"| `{op['op']}` | {group_of(op['op'])} | {op['calls']} | {op['s']:.3f} | "
                  f"{op['s'] / r['profiled_s']:.1%} |")
        print()


if __name__ == "__main__":
    main()
