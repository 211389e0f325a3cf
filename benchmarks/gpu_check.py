"""The GPU proof in one run: everything that needs CUDA, with the real engine and node processes.

    bash benchmarks/gpu_check.sh [--dry-run] [--out DIR] [--steps 20] [--skip fsdp,qlora]

On a lent GPU machine (one H100/H200; at most 8 minutes), with the Qwen3-0.6B shape (random
weights, the real Qwen3 tokenizer):

| check | what passes |
|---|---|
| train_sdpa | bf16 training with sdpa, packed 2,048-token rows: steps finish, the loss is finite; MFU against the card's peak (target >= 45 %) |
| train_flash | the same with flash-attn varlen (padding-free rows), when flash-attn imports |
| oom_retry | a micro-batch that cannot fit is split (`oom_retry` warnings) and the battle still ends |
| node | the node on the GPU loads a trained checkpoint, answers, unloads, and its allocated memory returns to the baseline |
| lora | a LoRA battle (PEFT adapters) in bf16 over the 0.6B shape: an adapter checkpoint of a few MB |
| qlora | the same over a 4-bit NF4 base (bitsandbytes): its peak memory against the LoRA row |
| ddp | 2 ranks under torchrun (NCCL; needs 2 GPUs): one event stream, the steps finish |
| fsdp | the same, sharded (FSDP2 `fully_shard`): the steps finish and the checkpoint holds the full weights |

`--dry-run` runs the same checks on the CPU with nano DIO and fp32 (CUDA-only checks are
skipped, saying so), so the script stays ready where no GPU is lent. It writes
`gpu_check.json` and a Markdown table to `--out` (default: $OUT, else a temporary folder),
and exits 1 when any check fails. `--skip NAMES` (comma-separated) reports those checks as
skipped without running them.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from backend.daemon.engine_proc import engine_command  # noqa: E402
from train_data import bin_examples, write_jsonl  # noqa: E402

MFU_TARGET = 0.45


@dataclass
class Context:
    dry_run: bool
    work: Path
    steps: int
    model_dir: Path = Path()
    data: Path = Path()
    checkpoints: Path | None = None  # the folder of train_sdpa's checkpoints, for the node check
    gpus: int = 0
    skip: frozenset[str] = frozenset()

    @property
    def device(self) -> str:
        return "cpu" if self.dry_run else "cuda"

    @property
    def precision(self) -> str:
        return "fp32" if self.dry_run else "bf16"


@dataclass
class Outcome:
    status: str  # pass | fail | skip | missing
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


def engine_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def run_job(ctx: Context, name: str, ranks: int = 1, **fields: Any) -> tuple[int, list[dict[str, Any]], str, float]:
    """One engine job, as the daemon starts it (under torchrun for `ranks` > 1)."""
    hp = {"max_steps": ctx.steps, "epochs": 1000, "batching": "packed", "packed_row_tokens": 2048,
          "tokens_per_micro_batch": 256 if ctx.dry_run else 16384, "max_length": 2048, "learning_rate": 1e-4,
          "validation_fraction": 0.0, **fields.pop("hyperparameters", {})}
    job = {"model_dir": str(ctx.model_dir), "data_files": [{"path": str(ctx.data)}],
           "output_dir": str(ctx.work / name), "device": ctx.device, "precision": ctx.precision,
           "attention": "sdpa", "save_every_steps": ctx.steps, "log_every_steps": 1, "hyperparameters": hp, **fields}
    path = ctx.work / f"{name}.json"
    path.write_text(json.dumps(job))
    t0 = time.perf_counter()
    proc = subprocess.run(engine_command(path, ranks), capture_output=True, text=True, cwd=ROOT, env=engine_env(),
                          timeout=600, stdin=subprocess.DEVNULL)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    return proc.returncode, events, proc.stderr, time.perf_counter() - t0


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == kind]


def training_outcome(ctx: Context, name: str, code: int, events: list[dict[str, Any]], err: str,
                     seconds: float) -> Outcome:
    result = (of_type(events, "result") or [{}])[-1]
    started = (of_type(events, "started") or [{}])[0]
    steps = of_type(events, "step")
    if code != 0 or not result.get("success"):
        errors = of_type(events, "error")
        why = errors[-1]["message"] if errors else err.strip().splitlines()[-1:] or [f"exit {code}"]
        return Outcome("fail", f"the engine failed: {why}")
    timed = steps[min(3, len(steps) - 1):]  # the first steps include warm-up and allocation
    mfus = [s["mfu"] for s in timed if s.get("mfu") is not None]
    figures = {
        "attention": started.get("attention"), "batching": started.get("batching"),
        "precision": started.get("precision"), "steps": len(steps), "wall_s": round(seconds, 1),
        "tokens_per_s": round(statistics.mean(s["tokens_per_s"] for s in timed)),
        "mfu": round(statistics.mean(mfus), 4) if mfus else None,
        "peak_memory_mb": round(max(s["peak_memory_mb"] for s in steps)),
        "final_loss": steps[-1]["loss"],
    }
    if any(s["loss"] is None for s in steps):
        return Outcome("fail", "a step's loss was not finite", figures)
    if ctx.dry_run:
        return Outcome("pass", f"{len(steps)} steps on the CPU ({figures['attention']}, {figures['batching']})", figures)
    mfu = figures["mfu"]
    if mfu is None:
        return Outcome("fail", "no MFU reported: this GPU is missing from engine.metrics' peak table", figures)
    verdict = "pass" if mfu >= MFU_TARGET else "fail"
    return Outcome(verdict, f"MFU {mfu:.1%} (target {MFU_TARGET:.0%}), {figures['tokens_per_s']:,} tokens/s", figures)


def check_train_sdpa(ctx: Context) -> Outcome:
    code, events, err, seconds = run_job(ctx, "train_sdpa")
    outcome = training_outcome(ctx, "train_sdpa", code, events, err, seconds)
    if outcome.status != "fail" or outcome.figures:
        ctx.checkpoints = ctx.work / "train_sdpa"
    return outcome


def check_train_flash(ctx: Context) -> Outcome:
    if ctx.dry_run:
        return Outcome("skip", "CUDA only (flash-attn runs in bf16 on compute capability 8.0 or newer)")
    probe = subprocess.run([sys.executable, "-m", "engine", "probe", "--device", "cuda", "--precision", "bf16",
                            "--attention", "flash_attention_2"], capture_output=True, text=True, cwd=ROOT,
                           env=engine_env(), timeout=120)
    facts = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.returncode == 0 else {}
    if facts.get("error"):
        return Outcome("skip", f"flash-attn cannot run here: {facts['error']} ({facts.get('flash_attn_error')})")
    code, events, err, seconds = run_job(ctx, "train_flash", attention="flash_attention_2",
                                         hyperparameters={"batching": "padding_free"})
    return training_outcome(ctx, "train_flash", code, events, err, seconds)


def check_oom_retry(ctx: Context) -> Outcome:
    if ctx.dry_run:
        return Outcome("skip", "CUDA only (the CPU has no out-of-memory error to recover from); the path is "
                               "tested on the CPU with an injected error (tests/engine/test_engine_trainer.py)")
    code, events, err, seconds = run_job(ctx, "oom_retry", save_every_steps=0,
                                         hyperparameters={"max_steps": 2, "tokens_per_micro_batch": 262_144})
    retries = [w for w in of_type(events, "warning") if w.get("code") == "oom_retry"]
    result = (of_type(events, "result") or [{}])[-1]
    figures = {"splits": [w["details"]["micro_batch_split"] for w in retries], "wall_s": round(seconds, 1)}
    if code != 0 or not result.get("success"):
        return Outcome("fail", f"the battle did not end after {len(retries)} split(s): "
                               f"{(err.strip().splitlines() or ['?'])[-1]}", figures)
    if not retries:
        return Outcome("fail", "262,144 tokens per micro-batch fitted: nothing was forced", figures)
    return Outcome("pass", f"split {figures['splits'][-1]} ways, then both steps finished", figures)


def check_node(ctx: Context) -> Outcome:
    import httpx

    if ctx.checkpoints is None or not any(ctx.checkpoints.glob("checkpoint-*")):
        return Outcome("fail", "no checkpoint from train_sdpa to serve")
    step = max(int(p.name.split("-")[1]) for p in ctx.checkpoints.glob("checkpoint-*"))
    key = "gpu-check"
    proc = subprocess.Popen([sys.executable, "-m", "inference_node", "--models-dir", str(ctx.checkpoints),
                             "--port", "0", "--device", ctx.device, "--api-key-env", "GPU_CHECK_KEY"],
                            cwd=ROOT, env={**engine_env(), "GPU_CHECK_KEY": key}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = ""
        deadline = time.monotonic() + 180
        assert proc.stdout is not None
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()
            if not line:
                return Outcome("fail", f"the node exited with code {proc.wait()}")
            if line.startswith("realm-node ready on "):
                url = line.split("ready on ", 1)[1].strip()
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
            base = http.get("/models/info").json().get("cuda_memory_allocated")
            t0 = time.perf_counter()
            http.post("/models/load", json={"model": f"checkpoint-{step}"}).raise_for_status()
            load_s = time.perf_counter() - t0
            loaded = http.get("/models/info").json().get("cuda_memory_allocated")
            t0 = time.perf_counter()
            answer = http.post("/v1/chat/completions", json={
                "model": f"checkpoint-{step}", "max_tokens": 16, "temperature": 0,
                "messages": [{"role": "user", "content": "⓪① + ⓪① ="}]})
            answer.raise_for_status()
            answer_s = time.perf_counter() - t0
            http.post("/models/unload", json={"model": f"checkpoint-{step}"}).raise_for_status()
            after = base
            for _ in range(60):  # the reclaim runs off the event loop
                after = http.get("/models/info").json().get("cuda_memory_allocated")
                if after is None or base is None or after <= base:
                    break
                time.sleep(0.5)
        figures = {"load_s": round(load_s, 2), "answer_s": round(answer_s, 2), "memory_base": base,
                   "memory_loaded": loaded, "memory_after_unload": after}
        if base is not None and after is not None and after > base:
            return Outcome("fail", f"allocated memory stayed at {after:,} bytes after the unload (baseline {base:,})",
                           figures)
        where = "on the CPU" if base is None else f"memory back to {after:,} bytes (loaded {loaded:,})"
        return Outcome("pass", f"loaded checkpoint-{step} in {load_s:.1f} s, answered in {answer_s:.1f} s; {where}",
                       figures)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def check_lora(ctx: Context) -> Outcome:
    code, events, err, seconds = run_job(ctx, "lora", method="lora", lora={"rank": 16, "alpha": 32.0})
    outcome = training_outcome(ctx, "lora", code, events, err, seconds)
    folders = list((ctx.work / "lora").glob("checkpoint-*"))
    if outcome.status == "fail" and not outcome.figures:
        return outcome
    if not folders or not (folders[-1] / "adapter_model.safetensors").is_file():
        return Outcome("fail", "no adapter checkpoint was written", outcome.figures)
    size = (folders[-1] / "adapter_model.safetensors").stat().st_size
    outcome.figures["adapter_mb"] = round(size / 2**20, 1)
    verdict = "pass" if ctx.dry_run else ("pass" if outcome.figures.get("steps") else "fail")
    return Outcome(verdict, f"adapter {size / 2**20:.1f} MB; {outcome.detail}", outcome.figures)


def check_qlora(ctx: Context) -> Outcome:
    if ctx.dry_run:
        return Outcome("skip", "CUDA only (bitsandbytes quantizes the base on the GPU); the CPU refuses method "
                               "qlora with a bad_job error")
    code, events, err, seconds = run_job(ctx, "qlora", method="qlora", lora={"rank": 16, "alpha": 32.0})
    outcome = training_outcome(ctx, "qlora", code, events, err, seconds)
    if outcome.status == "fail" and not outcome.figures:
        return outcome
    peak = outcome.figures.get("peak_memory_mb")
    return Outcome("pass" if outcome.figures.get("steps") else "fail",
                   f"4-bit base, peak {peak} MB; {outcome.detail}", outcome.figures)


def two_ranks(ctx: Context, sharding: str) -> Outcome:
    """Two ranks under torchrun: NCCL on 2 GPUs (gloo ranks on the CPU in the dry run)."""
    if not ctx.dry_run and ctx.gpus < 2:
        return Outcome("skip", f"needs 2 GPUs; {ctx.gpus} visible")
    code, events, err, seconds = run_job(ctx, sharding, ranks=2, threads=1, sharding=sharding)
    outcome = training_outcome(ctx, sharding, code, events, err, seconds)
    if outcome.status == "fail" and not outcome.figures:
        return outcome
    started = of_type(events, "started")
    if len(started) != 1:
        return Outcome("fail", f"{len(started)} started events: rank 0 alone must speak", outcome.figures)
    if not str(started[0].get("sharding", "")).startswith(sharding):
        return Outcome("fail", f"the engine chose {started[0].get('sharding')!r}, not {sharding}", outcome.figures)
    return Outcome("pass" if ctx.dry_run or outcome.status == "pass" else outcome.status,
                   f"2 ranks, {sharding}: {outcome.detail}", outcome.figures)


def check_ddp(ctx: Context) -> Outcome:
    return two_ranks(ctx, "ddp")


def check_fsdp(ctx: Context) -> Outcome:
    return two_ranks(ctx, "fsdp")


CHECKS: tuple[tuple[str, Callable[[Context], Outcome]], ...] = (
    ("train_sdpa", check_train_sdpa),
    ("train_flash", check_train_flash),
    ("oom_retry", check_oom_retry),
    ("node", check_node),
    ("lora", check_lora),
    ("qlora", check_qlora),
    ("ddp", check_ddp),
    ("fsdp", check_fsdp),
)


def prepare(ctx: Context) -> None:
    import torch

    if not ctx.dry_run and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here; use --dry-run to rehearse on the CPU")
    ctx.gpus = torch.cuda.device_count()
    if ctx.dry_run:
        ctx.model_dir = ctx.work / "nano"
        subprocess.run([sys.executable, "-m", "engine", "nano", str(ctx.model_dir)], check=True, cwd=ROOT,
                       env=engine_env(), capture_output=True)
    else:
        from qwen_shape import make_qwen3

        ctx.model_dir = make_qwen3(ctx.work / "qwen3-0.6b")
    ctx.data = write_jsonl(bin_examples(400 if ctx.dry_run else 8000, seed=0), ctx.work / "data.jsonl")


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = ["| check | status | detail |", "|---|---|---|"]
    rows += [f"| {name} | {r['status']} | {r['detail']} |" for name, r in results.items()]
    return "\n".join(rows)


def run_checks(ctx: Context) -> tuple[dict[str, dict[str, Any]], float]:
    """Every check in order: name -> status, detail, seconds and figures; and the whole run's seconds."""
    t0 = time.perf_counter()
    prepare(ctx)
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS:
        started = time.perf_counter()
        try:
            outcome = Outcome("skip", "not run (--skip)") if name in ctx.skip else check(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            outcome = Outcome("fail", f"{type(exc).__name__}: {exc}")
        results[name] = {"status": outcome.status, "detail": outcome.detail, "seconds": round(time.perf_counter() - started, 1),
                         **outcome.figures}
        print(f"gpu_check: {name}: {outcome.status}: {outcome.detail}", flush=True)
    return results, round(time.perf_counter() - t0, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="rehearse on the CPU with nano DIO")
    p.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None)
    p.add_argument("--steps", type=int, default=None, help="optimizer steps per training check (20; dry run 3)")
    p.add_argument("--skip", default="", help="checks not to run, comma-separated (e.g. fsdp,qlora)")
    args = p.parse_args()
    skip = frozenset(n for n in args.skip.split(",") if n)
    if unknown := skip - {name for name, _ in CHECKS}:
        p.error(f"--skip: no check named {', '.join(sorted(unknown))}; the checks are {', '.join(n for n, _ in CHECKS)}")
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gpu-check-work-") as work:  # models and checkpoints: gone after
        ctx = Context(args.dry_run, Path(work), args.steps or (3 if args.dry_run else 20), skip=skip)
        results, seconds = run_checks(ctx)
    summary = {"dry_run": ctx.dry_run, "device": ctx.device, "gpus": ctx.gpus, "model": ctx.model_dir.name,
               "seconds": seconds, "checks": results}
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=1))
    (out / "gpu_check.md").write_text(table(results) + "\n")
    print(table(results))
    print(f"gpu_check: results in {out}")
    return 1 if any(r["status"] == "fail" for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
