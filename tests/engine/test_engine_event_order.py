"""Readers of the event stream look events up by type: a warning may come before `started`
(validation_fraction 0 says that no validation loss will be reported), as the CUDA
throughput benchmark found out at its end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine_helpers import ROOT, engine_cmd, engine_env, write_addition_data, write_job

# the benchmark runs in its own interpreter, as it does for a user: its sys.path additions
# (benchmarks/ holds a node.py) must not leak into this test process
FIND_STARTED = ("import json, sys; sys.path.insert(0, 'benchmarks'); from train_throughput import started_event; "
                "print(json.dumps(started_event(json.load(sys.stdin))))")


def test_a_warning_can_come_before_started_and_the_benchmark_finds_started(tmp_path: Path,
                                                                            small_nano_dir: Path) -> None:
    data = write_addition_data(tmp_path / "d.jsonl", 60, seed=3)
    job = write_job(tmp_path / "job.json", model_dir=str(small_nano_dir), data_files=[{"path": str(data)}],
                    output_dir=str(tmp_path / "out"), threads=1, save_every_steps=0,
                    hyperparameters={"max_steps": 2, "tokens_per_micro_batch": 256, "validation_fraction": 0.0})
    proc = subprocess.run(engine_cmd("run", str(job)), capture_output=True, text=True, cwd=ROOT,
                          env=engine_env(), timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert events[0]["type"] == "warning"
    found = subprocess.run([sys.executable, "-c", FIND_STARTED], input=json.dumps(events), capture_output=True,
                           text=True, cwd=ROOT, env=engine_env(), timeout=120)
    assert found.returncode == 0, found.stderr[-2000:]
    started = json.loads(found.stdout)
    assert started["type"] == "started" and started["batching"] and started["attention"] == "sdpa"
