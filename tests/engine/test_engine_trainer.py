"""The loop's guards, in process: non-finite steps are skipped, loss spikes are reported,
the learning-rate schedule warms up then decays."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from contracts.engine_events import parse_event
from contracts.engine_job import EngineJob, Hyperparameters
from engine.control import ControlChannel
from engine.events import EventWriter
from engine.optim import lr_factor
from engine.runner import build_setup
from engine.trainer import Trainer
from engine_helpers import write_addition_data


def make_trainer(tmp_path: Path, model: Path, **hp) -> tuple[Trainer, io.StringIO]:
    data = write_addition_data(tmp_path / "q.jsonl", 200, seed=5)
    job = EngineJob.model_validate({
        "model_dir": str(model), "data_files": [{"path": str(data)}], "output_dir": str(tmp_path / "out"),
        "threads": 1, "hyperparameters": {"tokens_per_micro_batch": 256, "validation_fraction": 0.0, **hp}})
    out = io.StringIO()
    return Trainer(build_setup(job, EventWriter(out), ControlChannel())), out


def events_of(out: io.StringIO) -> list:
    return [parse_event(line) for line in out.getvalue().splitlines()]


def test_nonfinite_step_is_skipped(tmp_path: Path, small_nano_dir: Path) -> None:
    tr, out = make_trainer(tmp_path, small_nano_dir)
    tr.train_step()
    with torch.no_grad():
        tr.model.get_input_embeddings().weight[7, 0] = float("inf")
    before = {n: p.detach().clone() for n, p in tr.model.named_parameters()}
    lr_before = tr.scheduler.last_epoch
    tr.train_step()
    warnings = [e for e in events_of(out) if e.type == "warning"]
    assert [w.code for w in warnings] == ["nonfinite_skip"]
    after = dict(tr.model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in before)  # no update
    assert tr.scheduler.last_epoch == lr_before + 1 and tr.state.job_step == 2 and tr.state.skipped_steps == 1


def test_loss_spike_is_reported(tmp_path: Path, small_nano_dir: Path) -> None:
    tr, out = make_trainer(tmp_path, small_nano_dir, warmup_steps=0, learning_rate=1e-3, epochs=5)
    for _ in range(12):
        tr.train_step()
    with torch.no_grad():
        tr.model.get_input_embeddings().weight.mul_(40.0)  # tied with the LM head: logits blow up
    tr.train_step()
    tr.train_step()
    assert not [e for e in events_of(out) if e.type == "warning"]  # two high steps may be a mixed quest's
    tr.train_step()
    spikes = [e for e in events_of(out) if e.type == "warning" and e.code == "loss_spike"]
    assert len(spikes) == 1 and spikes[0].details["loss"] > 3 * spikes[0].details["moving_average"]


def test_lr_schedule() -> None:
    hp = Hyperparameters(warmup_steps=10, schedule="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, 100, hp) == pytest.approx(0.1)
    assert lr_factor(9, 100, hp) == pytest.approx(1.0)
    assert lr_factor(10, 100, hp) == pytest.approx(1.0)
    assert lr_factor(55, 100, hp) == pytest.approx(0.55)
    assert lr_factor(100, 100, hp) == pytest.approx(0.1)
    constant = Hyperparameters(warmup_steps=0, schedule="constant")
    assert lr_factor(0, 100, constant) == lr_factor(99, 100, constant) == 1.0


def test_total_steps_follow_epochs_and_max_steps(tmp_path: Path, small_nano_dir: Path) -> None:
    tr, _ = make_trainer(tmp_path, small_nano_dir, epochs=3)
    assert tr.total_steps == sum(tr.epoch_steps) and len(tr.epoch_steps) == 3
    (tmp_path / "c").mkdir()
    capped, out = make_trainer(tmp_path / "c", small_nano_dir, epochs=3, max_steps=2)
    assert capped.total_steps == 2
    assert out.getvalue() == ""  # nothing is emitted before the run


def test_the_cursor_walks_every_epoch_plan_whatever_its_length(tmp_path: Path, small_nano_dir: Path) -> None:
    tr, _ = make_trainer(tmp_path, small_nano_dir, epochs=3)
    seen: dict[int, list[int]] = {}
    for _ in range(tr.total_steps):
        epoch = tr.state.epoch
        seen.setdefault(epoch, []).extend(i for mb in tr.current_step_plan() for i in mb.examples())
        tr._advance_cursor()
    assert sorted(seen) == [0, 1, 2]
    for examples in seen.values():  # each epoch: every training example exactly once
        assert sorted(examples) == list(range(len(tr.lengths)))


def test_out_of_memory_splits_the_step_frees_the_failed_tensors_and_relaxes(
        tmp_path: Path, small_nano_dir: Path, monkeypatch) -> None:
    """An injected out-of-memory error: the step is retried split in two, with the failed
    attempt's tensors already freed when recovery runs; loss and gradient equal an unsplit step's;
    after SPLIT_RELAX_STEPS good steps the split halves again."""
    import gc
    import weakref

    import engine.trainer as trainer_mod

    (tmp_path / "ref").mkdir()
    (tmp_path / "oom").mkdir()
    torch.manual_seed(0)
    ref, _ = make_trainer(tmp_path / "ref", small_nano_dir, warmup_steps=0, grad_clip=0.0)
    torch.manual_seed(0)
    tr, out = make_trainer(tmp_path / "oom", small_nano_dir, warmup_steps=0, grad_clip=0.0)
    ref.train_step()
    real = trainer_mod.forward_backward
    held: list[weakref.ref] = []
    fail = {"left": 1}

    def flaky(model, batches, cfg, *rest):
        if fail["left"]:
            fail["left"] -= 1
            scratch = torch.empty(1 << 20)  # what a failed forward leaves behind
            held.append(weakref.ref(scratch))
            raise torch.OutOfMemoryError("injected: CUDA out of memory")
        return real(model, batches, cfg, *rest)

    dead_at_recovery = []
    recover = tr._recover_from_oom
    monkeypatch.setattr(tr, "_recover_from_oom", lambda plan: (dead_at_recovery.append(held[-1]() is None),
                                                               recover(plan))[1])
    monkeypatch.setattr(trainer_mod, "forward_backward", flaky)
    monkeypatch.setattr(trainer_mod, "SPLIT_RELAX_STEPS", 3)
    gc.collect()
    tr.train_step()
    assert dead_at_recovery == [True]
    retries = [e for e in events_of(out) if e.type == "warning" and e.code == "oom_retry"]
    assert [r.details["micro_batch_split"] for r in retries] == [2]
    # the same loss and gradient as the unsplit step (Adam's first update is about lr * sign(g),
    # so weights are not the place to compare)
    assert tr.state.last_loss == pytest.approx(ref.state.last_loss, rel=1e-5)
    assert tr.window.last_grad_norm == pytest.approx(ref.window.last_grad_norm, rel=1e-4)
    assert tr.state.micro_batch_split == 2
    tr.train_step()
    assert tr.state.micro_batch_split == 2  # the retried step was the first good one, this the second
    tr.train_step()
    assert tr.state.micro_batch_split == 1


def test_out_of_memory_at_single_examples_gives_up(tmp_path: Path, small_nano_dir: Path, monkeypatch) -> None:
    import engine.trainer as trainer_mod

    tr, out = make_trainer(tmp_path, small_nano_dir)

    def always(model, batches, cfg, *rest):
        raise torch.OutOfMemoryError("injected")

    monkeypatch.setattr(trainer_mod, "forward_backward", always)
    with pytest.raises(torch.OutOfMemoryError, match="single examples"):
        tr.train_step()
    splits = [e.details["micro_batch_split"] for e in events_of(out) if e.type == "warning"]
    assert splits and splits == sorted(splits) and all(b == 2 * a for a, b in zip(splits, splits[1:]))


def test_a_new_quest_far_above_the_campaigns_loss_is_no_spike(tmp_path: Path, small_nano_dir: Path) -> None:
    """The campaign's loss average comes from the last quest (another skill's data, maybe); a job
    warns of spikes against its own average only."""
    tr, out = make_trainer(tmp_path, small_nano_dir, warmup_steps=0, learning_rate=1e-3, epochs=5)
    tr.state.loss_ema = 0.01  # as a quest of easy data would have left it
    for _ in range(14):
        tr.train_step()
    assert not [e for e in events_of(out) if e.type == "warning" and e.code == "loss_spike"]
    assert tr.state.loss_ema is not None and tr.state.loss_ema > 0.01  # the campaign's average still moves
