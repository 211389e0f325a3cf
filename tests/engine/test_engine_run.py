"""`python -m engine run` as a real subprocess: events, checkpoints, control lines, signals, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from contracts.checkpoint import check_checkpoint, newest_complete, read_ledger
from contracts.engine_job import EngineJob, job_template
from engine_helpers import (
    ROOT, engine_cmd, engine_env, finish, of_type, run_engine, send, start_engine, wait_for, write_addition_data,
    write_job,
)


def base_job(tmp_path: Path, model: Path, n: int = 200, **extra) -> Path:
    data = write_addition_data(tmp_path / "quest.jsonl", n)
    fields = {"model_dir": str(model), "data_files": [{"path": data.name, "schema": "chat_sft_v1"}],
              "output_dir": "checkpoints", "threads": 1, **extra}
    return write_job(tmp_path / "job.json", **fields)


@pytest.mark.slow
def test_run_2000_examples(tmp_path: Path, nano_dir: Path) -> None:
    job = base_job(tmp_path, nano_dir, n=2000, save_every_steps=10, log_every_steps=2, threads=0, job_id="q7",
                   quest={"quest_id": "q7", "quest_file": "quest.jsonl", "skill": "bin", "level": 3})
    code, events, stderr = run_engine(job)
    assert code == 0, stderr[-3000:]
    assert events[0].type == "started" and events[-1].type == "result"
    started, result = events[0], events[-1]
    assert started.examples_train + started.examples_val == 2000 and started.examples_val == 100
    assert started.device == "cpu" and started.precision == "fp32" and started.attention == "sdpa"
    assert started.batching == "packed" and 800_000 < started.parameters < 900_000
    steps = of_type(events, "step")
    assert [s.job_step for s in steps] == sorted(s.job_step for s in steps)
    assert steps[-1].job_step == started.total_steps == result.global_step
    assert steps[-1].loss < steps[0].loss
    for s in steps:
        assert s.tokens_per_s > 0 and s.supervised_tokens_per_s > 0 and s.mfu is None
        assert 0 <= s.padding_fraction < 0.5 and s.lr > 0 and s.peak_memory_mb > 0
    checkpoints = of_type(events, "checkpoint")
    assert [c.reason for c in checkpoints][-1] == "end"
    assert len(of_type(events, "eval")) >= len([c for c in checkpoints if not c.reused])
    assert result.success and not result.stopped and result.final_loss is not None
    last = Path(result.last_checkpoint_path)
    assert last == Path(checkpoints[-1].path) == newest_complete(tmp_path / "checkpoints", verify_hashes=True)
    assert check_checkpoint(last, verify_hashes=True) == []
    ledger = read_ledger(last)
    assert ledger.step == result.global_step and ledger.weights_sha256 == checkpoints[-1].weights_sha256
    assert (ledger.quest_id, ledger.skill, ledger.level, ledger.job_id) == ("q7", "bin", 3, "q7")
    assert ledger.profile.name == "none" and ledger.val_loss is not None and ledger.resume is not None
    assert ledger.name.startswith(f"checkpoint-{ledger.step}-")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(last)).chat_template
    AutoModelForCausalLM.from_pretrained(str(last))


@pytest.mark.slow
def test_control_lines_pause_checkpoint_resume_stop(tmp_path: Path, small_nano_dir: Path) -> None:
    job = base_job(tmp_path, small_nano_dir, n=400, log_every_steps=1, save_every_steps=0,
                   hyperparameters={"tokens_per_micro_batch": 256, "epochs": 50}, init_step=1000)
    proc = start_engine(job)
    seen: list = []
    try:
        wait_for(proc, "step", seen)
        send(proc, "pause")
        paused = wait_for(proc, "paused", seen)
        send(proc, "checkpoint")
        ckpt = wait_for(proc, "checkpoint", seen)
        assert ckpt.reason == "command" and ckpt.global_step == paused.global_step
        time.sleep(0.3)
        assert not [e for e in seen if e.type == "step" and e.global_step > paused.global_step]
        send(proc, "bogus")
        send(proc, "resume")
        resumed = wait_for(proc, "resumed", seen)
        assert resumed.paused_s > 0.2
        wait_for(proc, "step", seen)
        send(proc, "stop")
        code = finish(proc, seen)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    assert any(e.type == "warning" and e.code == "unknown_control" for e in seen)
    result = seen[-1]
    assert result.type == "result" and result.success and result.stopped
    stop_ckpt = [e for e in seen if e.type == "checkpoint"][-1]
    assert stop_ckpt.reason == "stop" and result.last_checkpoint_path == stop_ckpt.path
    assert stop_ckpt.global_step == result.global_step > 1000  # named with the hero's global step
    assert Path(stop_ckpt.path).name.startswith(f"checkpoint-{result.global_step}-")


@pytest.mark.slow
def test_sigterm_behaves_like_stop(tmp_path: Path, small_nano_dir: Path) -> None:
    job = base_job(tmp_path, small_nano_dir, n=400, log_every_steps=1, save_every_steps=0,
                   hyperparameters={"tokens_per_micro_batch": 256, "epochs": 50})
    proc = start_engine(job)
    seen: list = []
    try:
        wait_for(proc, "step", seen)
        proc.send_signal(signal.SIGTERM)
        code = finish(proc, seen)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    result = seen[-1]
    assert result.type == "result" and result.success and result.stopped
    assert [e for e in seen if e.type == "checkpoint"][-1].reason == "stop"
    assert newest_complete(tmp_path / "checkpoints", verify_hashes=True) == Path(result.last_checkpoint_path)


def test_bad_job_file_names_the_field(tmp_path: Path) -> None:
    job = write_job(tmp_path / "job.json", hyperparameters={"learning_rate": "fast"})
    code, events, _ = run_engine(job)
    assert code == 2
    assert [e.type for e in events] == ["error", "result"]
    assert "hyperparameters.learning_rate" in events[0].message and events[0].code == "bad_job"
    assert not events[-1].success


def test_bad_data_line_names_file_and_line(tmp_path: Path, small_nano_dir: Path) -> None:
    job = base_job(tmp_path, small_nano_dir, n=20)
    with open(tmp_path / "quest.jsonl", "a", encoding="utf-8") as f:
        f.write('{"messages": [{"role": "user", "content": "q"}]}\n')
    code, events, _ = run_engine(job)
    assert code == 1
    error = of_type(events, "error")[0]
    assert error.code == "bad_data" and f"{tmp_path / 'quest.jsonl'}:21:" in error.message and error.fix
    assert events[-1].type == "result" and not events[-1].success and "quest.jsonl:21" in events[-1].error_message


def test_masking_validator_aborts_before_the_first_step(tmp_path: Path, small_nano_dir: Path) -> None:
    job = base_job(tmp_path, small_nano_dir, n=20, hyperparameters={"masked_ratio_max": 0.3})
    code, events, _ = run_engine(job)
    assert code == 1
    assert of_type(events, "error")[0].code == "masking" and not of_type(events, "step")
    assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())


def test_job_template_cli() -> None:
    proc = subprocess.run(engine_cmd("job-template"), capture_output=True, text=True, cwd=ROOT, env=engine_env(),
                          timeout=60)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == job_template()
    EngineJob.model_validate_json(proc.stdout)


def test_profile_and_overlength_are_reported(tmp_path: Path, small_nano_dir: Path) -> None:
    job = base_job(tmp_path, small_nano_dir, n=60, profile="emoji_think", save_every_steps=0,
                   hyperparameters={"max_steps": 1, "max_length": 66, "masked_ratio_min": 0.0})
    code, events, err = run_engine(job)
    assert code == 0, err[-2000:]
    started = events[0] if events[0].type == "started" else of_type(events, "started")[0]
    dropped = [e for e in events if e.type == "warning" and e.code == "overlength_dropped"]
    assert dropped and dropped[0].details["count"] == started.dropped_overlength > 0
    assert started.profile == "emoji_think"
    ledger = read_ledger(Path(events[-1].last_checkpoint_path))
    assert ledger.profile.name == "emoji_think" and ledger.profile.chat_style == "chatml"
    assert "🏁" in ledger.profile.stop_sequences and ledger.profile.system_prompt
