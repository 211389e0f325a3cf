"""Resume continues a job exactly; a save killed midway leaves nothing resume would pick."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from contracts.checkpoint import TEMP_PREFIX, is_complete, newest_complete, read_ledger
from contracts.nano import NanoSpec
from engine_helpers import finish, of_type, run_engine, send, start_engine, wait_for, write_addition_data, write_job

TOTAL = 12


def job_fields(model: Path, data: Path, out: str, **extra) -> dict:
    return {"model_dir": str(model), "data_files": [{"path": str(data)}], "output_dir": out, "threads": 1,
            "save_every_steps": 0, "log_every_steps": 1, "init_step": 50,
            "hyperparameters": {"tokens_per_micro_batch": 256, "grad_accum": 2, "max_steps": TOTAL, "epochs": 10,
                                "warmup_steps": 3, "batching": "packed", "packed_row_tokens": 64}, **extra}


def weights(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(checkpoint) / "model.safetensors"))


@pytest.mark.slow
def test_stop_and_resume_equals_straight_run(tmp_path: Path, small_nano_dir: Path) -> None:
    data = write_addition_data(tmp_path / "q.jsonl", 300, seed=4)
    straight = write_job(tmp_path / "straight.json", **job_fields(small_nano_dir, data, "straight"))
    code, events, err = run_engine(straight)
    assert code == 0, err[-2000:]
    straight_result = events[-1]
    assert straight_result.global_step == 50 + TOTAL

    first = write_job(tmp_path / "first.json", **job_fields(small_nano_dir, data, "split"))
    proc = start_engine(first)
    seen: list = []
    try:
        while wait_for(proc, "step", seen).job_step < TOTAL // 2:
            pass
        send(proc, "stop")
        assert finish(proc, seen) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stopped = seen[-1]
    assert stopped.stopped and stopped.job_steps < TOTAL
    ckpt = Path(stopped.last_checkpoint_path)
    assert newest_complete(tmp_path / "split", resumable=True) == ckpt
    assert read_ledger(ckpt).resume.job_step == stopped.job_steps

    # resume_from wins over model_dir and init_step
    second = write_job(tmp_path / "second.json", **job_fields(tmp_path / "nowhere", data, "split", init_step=0,
                                                             resume_from=str(ckpt)))
    code, events, err = run_engine(second)
    assert code == 0, err[-2000:]
    started, result = events[0], events[-1]
    assert started.resume_step == stopped.job_steps and started.start_global_step == stopped.global_step
    assert result.global_step == straight_result.global_step and result.job_steps == TOTAL
    a, b = weights(straight_result.last_checkpoint_path), weights(result.last_checkpoint_path)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert result.final_loss == pytest.approx(straight_result.final_loss, rel=1e-6)


def test_resume_with_other_data_is_refused(tmp_path: Path, small_nano_dir: Path) -> None:
    data = write_addition_data(tmp_path / "q.jsonl", 100, seed=1)
    fields = job_fields(small_nano_dir, data, "out")
    fields["hyperparameters"]["max_steps"] = 2
    code, events, err = run_engine(write_job(tmp_path / "a.json", **fields))
    assert code == 0, err[-2000:]
    other = write_addition_data(tmp_path / "other.jsonl", 100, seed=2)
    again = job_fields(small_nano_dir, other, "out", resume_from=events[-1].last_checkpoint_path)
    code, events, _ = run_engine(write_job(tmp_path / "b.json", **again))
    assert code == 1
    error = of_type(events, "error")[0]
    assert error.code == "resume" and "continue_from" in error.fix


@pytest.mark.slow
def test_sigkill_while_saving_leaves_nothing_to_resume(tmp_path: Path) -> None:
    from engine.nano_model import create_nano

    # a model big enough (about 25M parameters) that one save takes a noticeable moment
    big = create_nano(tmp_path / "big", spec=NanoSpec(hidden_size=512, num_layers=8, num_heads=8, num_kv_heads=4,
                                                      intermediate_size=1536))
    data = write_addition_data(tmp_path / "q.jsonl", 64, seed=3)
    out = tmp_path / "ckpts"
    fields = job_fields(big, data, str(out), save_every_steps=1)
    fields["hyperparameters"].update(max_steps=40, tokens_per_micro_batch=128, grad_accum=1)
    proc = start_engine(write_job(tmp_path / "job.json", **fields))
    killed_during_save = False
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in out.glob(f"{TEMP_PREFIX}*")] if out.exists() else []
            if temps and any(p.is_dir() for p in temps):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                killed_during_save = any(p.is_dir() for p in out.glob(f"{TEMP_PREFIX}*"))
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert killed_during_save, "the kill did not land inside a save; the test proves nothing"
    temp = next(out.glob(f"{TEMP_PREFIX}*"))
    assert not is_complete(temp)
    newest = newest_complete(out, verify_hashes=True, resumable=True)
    assert newest is None or (newest != temp and is_complete(newest, verify_hashes=True))
    # a new job on the same folder is warned about the unfinished save and never uses it
    fields["hyperparameters"]["max_steps"] = 1
    fields["save_every_steps"] = 0
    code, events, err = run_engine(write_job(tmp_path / "again.json", **fields))
    assert code == 0, err[-2000:]
    assert any(e.type == "warning" and e.code == "stale_temp_checkpoint" for e in events)
