"""Lean checkpoints: bf16 training serves bf16 weights and keeps the fp32 master copy in the
resume state (an exact resume goes on from it); thinning removes the resume state, leaves a
complete checkpoint that serves as before, and is never resumed exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from contracts.checkpoint import (
    RESUME_STATE_NAME,
    check_checkpoint,
    has_resume_state,
    list_complete,
    read_ledger,
    thin_checkpoint,
)
from engine.checkpointing import MASTER_WEIGHTS, load_resume_state
from engine_helpers import run_engine, write_addition_data, write_job

STEPS = 4


def bf16_job(model: Path, data: Path, out: Path, **extra) -> dict:
    return {"model_dir": str(model), "data_files": [{"path": str(data)}], "output_dir": str(out), "threads": 1,
            "precision": "bf16", "save_every_steps": 2, "log_every_steps": 1, "init_step": 0,
            "hyperparameters": {"tokens_per_micro_batch": 256, "max_steps": STEPS, "epochs": 10, "warmup_steps": 1,
                                "batching": "packed", "packed_row_tokens": 64, "validation_fraction": 0}, **extra}


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory, small_nano_dir: Path) -> tuple[Path, Path]:
    """(data file, checkpoints folder) of one bf16 run of STEPS steps, saved every 2."""
    root = tmp_path_factory.mktemp("lean")
    data = write_addition_data(root / "q.jsonl", 200, seed=3)
    code, _, err = run_engine(write_job(root / "job.json", **bf16_job(small_nano_dir, data, root / "out")))
    assert code == 0, err[-2000:]
    return data, root / "out"


def checkpoints(folder: Path) -> list[Path]:
    return [p for p, _ in list_complete(folder)]


@pytest.mark.slow
def test_bf16_checkpoints_serve_bf16_weights_and_resume_from_their_fp32_master_copy(
        straight: tuple[Path, Path], tmp_path: Path) -> None:
    data, out = straight
    first, last = checkpoints(out)
    served = load_file(str(last / "model.safetensors"))
    assert {t.dtype for t in served.values()} == {torch.bfloat16}
    assert json.loads((last / "config.json").read_text())["dtype"] == "bfloat16"
    _, state = load_resume_state(last)
    master = state[MASTER_WEIGHTS]
    assert {t.dtype for t in master.values()} == {torch.float32}
    assert all(torch.equal(master[k].to(torch.bfloat16), served[k]) for k in served)
    assert any(not torch.equal(master[k], served[k].float()) for k in served)  # bf16 rounds: the copy matters
    assert check_checkpoint(last, verify_hashes=True) == []

    # resuming at step 2 ends exactly where the straight run did: training went on from the fp32 copy
    resumed = tmp_path / "resumed"
    job = bf16_job(tmp_path / "nowhere", data, resumed, resume_from=str(first))
    code, events, err = run_engine(write_job(tmp_path / "job.json", **job))
    assert code == 0, err[-2000:]
    assert events[-1].global_step == STEPS
    again = load_file(str(Path(events[-1].last_checkpoint_path) / "model.safetensors"))
    _, again_state = load_resume_state(Path(events[-1].last_checkpoint_path))
    assert all(torch.equal(again[k], served[k]) for k in served)
    assert all(torch.equal(again_state[MASTER_WEIGHTS][k], master[k]) for k in master)


@pytest.mark.slow
def test_a_thinned_checkpoint_serves_and_checks_complete_but_never_resumes_exactly(
        straight: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    data, out = straight
    folder = tmp_path / out.name
    shutil.copytree(out, folder)
    first, last = checkpoints(folder)
    size = (first / RESUME_STATE_NAME).stat().st_size
    weights_sha = read_ledger(first).weights_sha256

    assert thin_checkpoint(first) == size
    ledger = read_ledger(first)
    assert not (first / RESUME_STATE_NAME).exists() and RESUME_STATE_NAME not in ledger.files
    assert ledger.resume is not None and ledger.resume.thinned and ledger.resume.loss_ema is not None
    assert not has_resume_state(ledger) and ledger.weights_sha256 == weights_sha
    assert check_checkpoint(first, verify_hashes=True) == [] and check_checkpoint(first, serving=True) == []
    assert [p for p, _ in list_complete(folder, resumable=True)] == [last]
    with pytest.raises(ValueError, match="thinned"):
        load_resume_state(first)
    assert thin_checkpoint(first) == 0  # already thin

    # a crash between the ledger's rewrite and the removal leaves a stray file; the next call removes it
    (first / RESUME_STATE_NAME).write_bytes(b"x" * 10)
    assert check_checkpoint(first, verify_hashes=True) == []
    assert thin_checkpoint(first) == 10 and not (first / RESUME_STATE_NAME).exists()

    # the engine refuses to resume it exactly, and says how to go on from its weights
    job = bf16_job(tmp_path / "nowhere", data, tmp_path / "again", resume_from=str(first))
    code, events, err = run_engine(write_job(tmp_path / "job.json", **job))
    assert code != 0
    failure = [e for e in events if e.type == "error"][-1]
    assert failure.code == "resume" and "thinned" in failure.message and "model_dir" in (failure.fix or "")
