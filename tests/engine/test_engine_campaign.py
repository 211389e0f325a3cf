"""continue_from: a second job carries the first one's AdamW moments, step count, RNG and loss
average on with new data, and on the campaign clock its learning rate is the campaign's, not a
restarted warmup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contracts.checkpoint import RESUME_STATE_NAME
from contracts.engine_job import Hyperparameters
from engine_helpers import of_type, run_engine, write_addition_data, write_job

WARMUP = 6
LR = 2e-3


def job_fields(out: str, **extra) -> dict:
    return {"output_dir": out, "threads": 1, "save_every_steps": 0, "log_every_steps": 1,
            "hyperparameters": {"tokens_per_micro_batch": 256, "max_steps": 4, "epochs": 10, "learning_rate": LR,
                                "warmup_steps": WARMUP, "schedule": "constant", "lr_clock": "campaign",
                                "batching": "packed", "packed_row_tokens": 64, "validation_fraction": 0.0}, **extra}


def optimizer_state(checkpoint: str | Path) -> dict:
    return torch.load(Path(checkpoint) / RESUME_STATE_NAME, map_location="cpu", weights_only=True)["optimizer"]


@pytest.mark.slow
def test_second_quest_continues_the_first(tmp_path: Path, small_nano_dir: Path) -> None:
    first_data = write_addition_data(tmp_path / "first.jsonl", 200, seed=1)
    second_data = write_addition_data(tmp_path / "second.jsonl", 200, seed=2)
    first = write_job(tmp_path / "first.json", model_dir=str(small_nano_dir), job_id="quest-1",
                      data_files=[{"path": str(first_data)}], **job_fields("ckpt"))
    code, events, err = run_engine(first)
    assert code == 0, err[-2000:]
    first_end = Path(events[-1].last_checkpoint_path)
    first_steps = of_type(events, "step")
    assert [s.global_step for s in first_steps] == [1, 2, 3, 4]
    assert [round(s.lr / LR, 6) for s in first_steps] == [round(i / WARMUP, 6) for i in (1, 2, 3, 4)]

    second = write_job(tmp_path / "second.json", job_id="quest-2", continue_from=str(first_end),
                       data_files=[{"path": str(second_data)}], **job_fields("ckpt"))
    code, events, err = run_engine(second)
    assert code == 0, err[-2000:]
    started = of_type(events, "started")[0]
    assert started.continued and started.init_step == 4 and started.lr_clock == "campaign"
    steps = of_type(events, "step")
    assert [s.global_step for s in steps] == [5, 6, 7, 8]
    # the campaign's warmup goes on (steps 5 and 6), then the constant rate: no second warmup
    assert [round(s.lr / LR, 6) for s in steps] == [round(5 / WARMUP, 6), 1.0, 1.0, 1.0]
    assert steps[0].loss_ema is not None and first_steps[-1].loss_ema is not None

    carried = optimizer_state(first_end)
    after = optimizer_state(events[-1].last_checkpoint_path)
    # AdamW's own step counter went on from 4 to 8: the moments were carried, not reset
    assert {float(s["step"]) for s in carried["state"].values()} == {4.0}
    assert {float(s["step"]) for s in after["state"].values()} == {8.0}


def test_campaign_clock_needs_a_schedule_without_an_end() -> None:
    with pytest.raises(ValueError, match="lr_clock campaign needs schedule constant or wsd"):
        Hyperparameters(lr_clock="campaign", schedule="cosine")


def test_wsd_cools_down_over_the_jobs_last_steps() -> None:
    from engine.optim import cooldown_factor, lr_factor

    hp = Hyperparameters(lr_clock="campaign", schedule="wsd", cooldown_fraction=0.25, min_lr_ratio=0.1, warmup_steps=5)
    factors = [lr_factor(1000 + s, 8, hp) * cooldown_factor(s, 8, hp) for s in range(8)]
    assert factors == pytest.approx([1, 1, 1, 1, 1, 1, 0.55, 0.1])  # the last 2 of 8 steps: down to 10 %
    assert lr_factor(2, 8, hp) == pytest.approx(3 / 5)  # the warmup counts global steps
