"""contracts/engine_job.py, engine_events.py, checkpoint.py: pure, fast, and strict where they must be."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from contracts.checkpoint import (
    LEDGER_NAME,
    CheckpointLedger,
    FileDigest,
    check_checkpoint,
    combined_weights_sha256,
    format_checkpoint_name,
    is_complete,
    newest_complete,
    parse_checkpoint_name,
    sha256_file,
)
from contracts.engine_events import (
    CheckpointEvent,
    ErrorEvent,
    EvalEvent,
    EventParseError,
    PausedEvent,
    ResultEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    WarningEvent,
    event_to_line,
    parse_event,
)
from contracts.engine_job import EngineJob, JobFileError, job_template, load_job, parse_job
from engine_helpers import ROOT


def test_contracts_import_no_torch_or_transformers() -> None:
    code = ("import sys, contracts.engine_job, contracts.engine_events, contracts.checkpoint\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'engine')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_job_template_is_complete_and_round_trips() -> None:
    tmpl = job_template()
    assert EngineJob.model_validate(tmpl) == EngineJob()
    for key in ("model_dir", "init_step", "resume_from", "data_files", "hyperparameters", "precision", "attention",
                "gradient_checkpointing", "profile", "save_every_steps", "log_every_steps", "log_every_seconds",
                "output_dir", "device", "threads", "quest"):
        assert key in tmpl
    for key in ("learning_rate", "weight_decay", "warmup_steps", "schedule", "tokens_per_micro_batch", "grad_accum",
                "max_length", "grad_clip", "epochs", "max_steps", "seed", "validation_fraction", "overlength",
                "batching", "loss_spike_factor", "masked_ratio_min", "masked_ratio_max"):
        assert key in tmpl["hyperparameters"]


def test_data_file_schema_alias_round_trips() -> None:
    job = parse_job(json.dumps({"data_files": [{"path": "q.jsonl", "schema": "completion_v1"}]}))
    assert job.data_files[0].schema_ == "completion_v1"
    dumped = json.loads(job.model_dump_json())
    assert dumped["data_files"] == [{"path": "q.jsonl", "schema": "completion_v1"}]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"hyperparameters": {"learning_rate": -1}}, "hyperparameters.learning_rate"),
        ({"hyperparameters": {"batching": "zigzag"}}, "hyperparameters.batching"),
        ({"device": "tpu"}, "device"),
        ({"data_files": [{"path": "a", "schema": "csv"}]}, "data_files.0.schema"),
        ({"learnig_rate": 1}, "learnig_rate"),
        ({"hyperparameters": {"masked_ratio_min": 0.9, "masked_ratio_max": 0.5}}, "hyperparameters"),
    ],
)
def test_bad_job_error_names_the_field(patch: dict, field: str) -> None:
    with pytest.raises(JobFileError) as err:
        parse_job(json.dumps(patch), "job.json")
    assert f"job.json: field {field}" in str(err.value)


def test_bad_json_names_line(tmp_path: Path) -> None:
    p = tmp_path / "job.json"
    p.write_text('{\n "init_step": 1,\n}')
    with pytest.raises(JobFileError, match=r"job.json: not valid JSON at line 3"):
        load_job(p)


def test_load_job_resolves_relative_paths_against_the_job_folder(tmp_path: Path) -> None:
    (tmp_path / "hero" / "base").mkdir(parents=True)
    p = tmp_path / "job.json"
    p.write_text(json.dumps({"model_dir": "hero/base", "output_dir": "checkpoints",
                             "data_files": [{"path": "quests/q.jsonl"}], "resume_from": None}))
    job = load_job(p)
    assert job.model_dir == str(tmp_path / "hero" / "base")
    assert job.output_dir == str(tmp_path / "checkpoints")
    assert job.data_files[0].path == str(tmp_path / "quests" / "q.jsonl")
    hub = parse_job(json.dumps({"model_dir": "Qwen/Qwen3-0.6B"})).resolved(tmp_path)
    assert hub.model_dir == "Qwen/Qwen3-0.6B"


EVENTS = [
    StartedEvent(total_steps=10, init_step=0, start_global_step=0, examples_train=9, examples_val=1, parameters=5,
                 trainable_parameters=5, device="cpu", precision="fp32", attention="sdpa", batching="padded",
                 profile="none", tokens_per_micro_batch=4096, grad_accum=1, model_dir="m", output_dir="o"),
    StepEvent(global_step=1, job_step=1, total_steps=10, loss=1.5, lr=1e-3, grad_norm=0.5, tokens_per_s=1.0,
              supervised_tokens_per_s=0.5, padding_fraction=0.1, mfu=None, flops_per_s=1e9, peak_memory_mb=10.0,
              eta_s=3.0, epoch=0.1, tokens_seen=100, supervised_tokens_seen=50),
    EvalEvent(global_step=1, job_step=1, val_loss=1.2, val_tokens=30),
    CheckpointEvent(global_step=1, name="checkpoint-1-20250101-0000", path="/x", reason="periodic", train_loss=1.0,
                    val_loss=None, size_bytes=10, weights_sha256="ab"),
    PausedEvent(global_step=1),
    ResumedEvent(global_step=1, paused_s=2.0),
    WarningEvent(code="loss_spike", message="m"),
    ErrorEvent(code="bad_data", message="m", where="f.jsonl:3", fix="fix it"),
    ResultEvent(success=True, global_step=1, runtime_sec=1.0, summary="ok"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type)
def test_every_event_round_trips_through_one_line(event) -> None:
    line = event_to_line(event)
    assert "\n" not in line
    parsed = parse_event(line)
    assert type(parsed) is type(event)
    assert parsed == event


def test_parse_event_tolerates_new_fields_and_rejects_garbage() -> None:
    line = json.loads(event_to_line(EVENTS[4]))
    line["added_later"] = 1
    assert parse_event(json.dumps(line)).type == "paused"
    with pytest.raises(EventParseError):
        parse_event("not json")
    with pytest.raises(EventParseError):
        parse_event('{"type": "dance", "ts": 1}')


def test_nonfinite_numbers_become_null() -> None:
    ev = StepEvent(global_step=1, job_step=1, total_steps=1, loss=float("nan"), lr=0.1, grad_norm=float("inf"),
                   tokens_per_s=1, supervised_tokens_per_s=1, padding_fraction=0, mfu=None, flops_per_s=0,
                   peak_memory_mb=0, eta_s=0, epoch=0, tokens_seen=0, supervised_tokens_seen=0)
    parsed = parse_event(event_to_line(ev))
    assert parsed.loss is None and parsed.grad_norm is None


def test_result_event_to_result() -> None:
    r = ResultEvent(success=False, global_step=3, runtime_sec=1.5, error_message="boom").to_result()
    assert r.success is False and r.global_step == 3 and r.error_message == "boom"


def test_checkpoint_name_format_and_parse() -> None:
    when = datetime(2025, 3, 4, 5, 6, tzinfo=timezone.utc)
    name = format_checkpoint_name(1200, when)
    assert name == "checkpoint-1200-20250304-0506"
    parsed = parse_checkpoint_name(name)
    assert parsed is not None and parsed.step == 1200 and parsed.created == when
    for bad in (".tmp-checkpoint-1200-20250304-0506-77", "checkpoint-12-2025034-0506", "checkpoint-x-20250304-0506",
                "checkpoint-1-20251304-0506", "ckpt-1"):
        assert parse_checkpoint_name(bad) is None


def fake_checkpoint(parent: Path, step: int, when: datetime, payload: bytes = b"weights") -> Path:
    name = format_checkpoint_name(step, when)
    d = parent / name
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(payload)
    (d / "config.json").write_text("{}")
    files = {f.name: FileDigest(sha256=sha256_file(f), size=f.stat().st_size) for f in d.iterdir()}
    ledger = CheckpointLedger(name=name, step=step, job_step=step, init_step=0, saved_at=when, reason="end",
                              files=files, weights_sha256=combined_weights_sha256(files))
    (d / LEDGER_NAME).write_text(ledger.model_dump_json())
    return d


def test_is_complete_cheap_and_full(tmp_path: Path) -> None:
    when = datetime(2025, 1, 1, tzinfo=timezone.utc)
    d = fake_checkpoint(tmp_path, 5, when)
    assert is_complete(d) and is_complete(d, verify_hashes=True)
    (d / "model.safetensors").write_bytes(b"weightz")  # same size, different bytes
    assert is_complete(d)
    assert not is_complete(d, verify_hashes=True)
    assert any("sha256" in p for p in check_checkpoint(d, verify_hashes=True))
    (d / "model.safetensors").write_bytes(b"w")
    assert not is_complete(d)


def test_incomplete_variants(tmp_path: Path) -> None:
    when = datetime(2025, 1, 1, tzinfo=timezone.utc)
    no_ledger = fake_checkpoint(tmp_path, 1, when)
    (no_ledger / LEDGER_NAME).unlink()
    bad_ledger = fake_checkpoint(tmp_path, 2, when)
    (bad_ledger / LEDGER_NAME).write_text("{")
    missing = fake_checkpoint(tmp_path, 3, when)
    (missing / "config.json").unlink()
    temp = fake_checkpoint(tmp_path / "x", 4, when)
    temp = temp.rename(tmp_path / f".tmp-{temp.name}-123")
    for d in (no_ledger, bad_ledger, missing, temp):
        assert not is_complete(d), d
    assert newest_complete(tmp_path) is None


def test_newest_complete_orders_by_save_time_then_step(tmp_path: Path) -> None:
    t0 = datetime(2025, 1, 1, 10, 0, tzinfo=timezone.utc)
    t1 = datetime(2025, 1, 1, 11, 0, tzinfo=timezone.utc)
    fake_checkpoint(tmp_path, 1000, t0)
    newer = fake_checkpoint(tmp_path, 800, t1)  # a later branch from an older step
    assert newest_complete(tmp_path) == newer
    assert newest_complete(tmp_path / "missing") is None
