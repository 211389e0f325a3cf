"""More than one device through torchrun, on the CPU with gloo: 2 ranks with grad_accum k train
the same weights (within fp32 tolerance) as one process with grad_accum 2k on the same data.
Rank 0 alone speaks: one event stream, one set of checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from contracts.engine_events import parse_event
from engine_helpers import ROOT, engine_env, of_type, run_engine, write_addition_data, write_job


def job(tmp: Path, name: str, model: Path, data: Path, accum: int) -> Path:
    return write_job(tmp / f"{name}.json", model_dir=str(model), job_id=name, data_files=[{"path": str(data)}],
                     output_dir=str(tmp / name), threads=1, save_every_steps=0, log_every_steps=1,
                     hyperparameters={"max_steps": 4, "epochs": 5, "grad_accum": accum, "tokens_per_micro_batch": 256,
                                      "learning_rate": 1e-3, "warmup_steps": 0, "validation_fraction": 0.0})


def test_two_gloo_ranks_equal_one_process_with_twice_the_accumulation(tmp_path: Path, small_nano_dir: Path) -> None:
    data = write_addition_data(tmp_path / "d.jsonl", 160, seed=8)
    code, single, err = run_engine(job(tmp_path, "single", small_nano_dir, data, accum=4))
    assert code == 0, err[-2000:]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "engine", "run", str(job(tmp_path, "ranks", small_nano_dir, data, accum=2))],
                          capture_output=True, text=True, cwd=ROOT, env=engine_env(), timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [parse_event(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    assert len(of_type(events, "started")) == 1 and len(of_type(events, "result")) == 1  # rank 0 alone
    assert [s.global_step for s in of_type(events, "step")] == [1, 2, 3, 4]
    one = [s.loss for s in of_type(single, "step")]
    two = [s.loss for s in of_type(events, "step")]
    assert all(abs(a - b) <= 1e-5 * abs(a) for a, b in zip(one, two, strict=True)), (one, two)
    # the whole step's tokens are counted, not rank 0's share
    assert of_type(events, "step")[-1].tokens_seen == of_type(single, "step")[-1].tokens_seen
    folders = [p for p in (tmp_path / "ranks").iterdir() if p.name.startswith("checkpoint-")]
    assert len(folders) == 1
    a = load_file(str(Path(single[-1].last_checkpoint_path) / "model.safetensors"))
    b = load_file(str(folders[0] / "model.safetensors"))
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    moved = max(float((a[k] - load_file(str(small_nano_dir / "model.safetensors"))[k]).abs().max()) for k in a)
    print(f"largest weight difference {worst:.2e}; largest update {moved:.2e}")
    assert moved > 1e-3 and worst < 1e-5, (worst, moved)
    assert json.loads((folders[0] / ".ledger.json").read_text())["step"] == 4
    assert torch.isfinite(torch.tensor(two)).all()
