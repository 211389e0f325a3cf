"""Memory admission's estimate against the engine's measured peak (CPU: peak RSS).

    python benchmarks/memory_estimate.py [--steps 3] [--skip-qwen]

Each row trains a few optimizer steps with the real engine subprocess and reads its peak
resident memory (`peak_memory_mb` of the last step event: ru_maxrss on the CPU,
torch.cuda.max_memory_allocated on CUDA), then prints the estimate the daemon uses for the
same shape and settings (backend.memory_admission.trainer_estimate plus the process
baseline) and the ratio estimate / measured. The target is within 25 %.

Rows: nano DIO with the save defaults, and the Qwen3-0.6B shape (random weights, the real
Qwen3 tokenizer) at 256 tokens per micro-batch (about 11 GB of RAM).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_data import bin_examples, write_jsonl  # noqa: E402


def run_engine(model_dir: Path, data: Path, out: Path, steps: int, tokens: int, max_length: int) -> float:
    job = {"model_dir": str(model_dir), "data_files": [{"path": str(data)}], "output_dir": str(out),
           "device": "cpu", "save_every_steps": 0, "log_every_steps": 1, "threads": 0,
           "hyperparameters": {"max_steps": steps, "tokens_per_micro_batch": tokens, "max_length": max_length,
                               "validation_fraction": 0.0, "epochs": 100}}
    path = out.parent / f"{out.name}.json"
    path.write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, "-m", "engine", "run", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=3600)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    steps_seen = [e for e in events if e["type"] == "step"]
    if proc.returncode != 0 or not steps_seen:
        raise SystemExit(f"engine failed:\n{proc.stderr[-3000:]}")
    return max(e["peak_memory_mb"] for e in steps_seen) * 2**20


def estimate_bytes(model_dir: Path, tokens: int, max_length: int) -> int:
    from backend.config.model import RealmConfig
    from backend.memory_admission import CPU_PROCESS_BYTES, shape_of, trainer_estimate

    config = RealmConfig()
    config = config.model_copy(update={"training": config.training.model_copy(
        update={"tokens_per_micro_batch": tokens, "max_length": max_length})})
    shape = shape_of(model_dir)
    assert shape is not None, model_dir
    return trainer_estimate(shape, config, "cpu").total + CPU_PROCESS_BYTES


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--skip-qwen", action="store_true", help="nano only (the 0.6B row needs about 11 GB of RAM)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="memory-estimate-"))
    data = write_jsonl(bin_examples(400, seed=0), work / "data.jsonl")
    rows = []
    nano = work / "nano"
    subprocess.run([sys.executable, "-m", "engine", "nano", str(nano)], check=True, cwd=ROOT, capture_output=True)
    rows.append(("nano DIO, 1,024 tokens per micro-batch", nano, 1024, 512))
    if not args.skip_qwen:  # built in a child process: this one stays small beside the engine
        qwen = work / "qwen3-0.6b"
        subprocess.run([sys.executable, "-c", f"from qwen_shape import make_qwen3; make_qwen3({str(qwen)!r})"],
                       check=True, cwd=ROOT / "benchmarks", capture_output=True)
        rows.append(("Qwen3-0.6B shape, 256 tokens per micro-batch", qwen, 256, 256))
    print("| model | measured peak RSS | estimate | estimate / measured |\n|---|---:|---:|---:|")
    for name, model_dir, tokens, max_length in rows:
        measured = run_engine(model_dir, data, work / name.split(",")[0].replace(" ", "-"), args.steps, tokens,
                              max_length)
        est = estimate_bytes(model_dir, tokens, max_length)
        print(f"| {name} | {measured / 2**30:.2f} GiB | {est / 2**30:.2f} GiB | {est / measured:.2f} |", flush=True)


if __name__ == "__main__":
    main()
