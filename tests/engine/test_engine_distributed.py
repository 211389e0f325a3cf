"""More than one device through torchrun, on the CPU with gloo: 2 ranks with grad_accum k train
the same weights (within fp32 tolerance) as one process with grad_accum 2k on the same data, both
replicated (DDP) and sharded (FSDP2). Rank 0 alone speaks: one event stream, one set of checkpoints.
A checkpoint of 2 ranks resumes exactly on 2 ranks, and a sharded one in one process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from backend.daemon.engine_proc import engine_command
from contracts.engine_events import parse_event
from engine.distributed import World
from engine.sharding import choose_sharding
from engine_helpers import ROOT, engine_env, finish, of_type, run_engine, send, wait_for, write_addition_data, write_job

pytestmark = pytest.mark.slow


def job(tmp: Path, name: str, model: Path, data: Path, accum: int, save_every: int = 0, steps: int = 4,
        **extra) -> Path:
    return write_job(tmp / f"{name}.json", model_dir=str(model), job_id=name, data_files=[{"path": str(data)}],
                     output_dir=str(tmp / name), threads=1, save_every_steps=save_every, log_every_steps=1,
                     hyperparameters={"max_steps": steps, "epochs": 50, "grad_accum": accum, "tokens_per_micro_batch": 256,
                                      "learning_rate": 1e-3, "warmup_steps": 0, "validation_fraction": 0.0},
                     **extra)


def run_ranks(job_file: Path, sharding: str = "ddp") -> list:
    fields = json.loads(job_file.read_text())
    job_file.write_text(json.dumps({**fields, "sharding": sharding}))
    proc = subprocess.run(engine_command(job_file, 2), capture_output=True, text=True, cwd=ROOT, env=engine_env(), timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [parse_event(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    started = of_type(events, "started")[0]
    assert started.ranks == 2 and started.sharding.startswith(f"{sharding}: as the job asks"), started.sharding
    return events


def weights_of(checkpoint: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(checkpoint) / "model.safetensors"))


@pytest.mark.parametrize("sharding", ["ddp", "fsdp"])
def test_two_gloo_ranks_train_as_one_process_and_resume_exactly(tmp_path: Path, small_nano_dir: Path,
                                                                sharding: str) -> None:
    """One 2-rank run (grad_accum 2, a checkpoint every 2 steps) against one process with grad_accum 4:
    the same losses and weights within fp32 tolerance. Sharded (the harder path: each rank loads its
    shard of the saved moments), its step-2 checkpoint, resumed by 2 ranks, ends bitwise where it did (the moments, the step, the data cursor and the RNG come back on every rank;
    sharded, each rank takes its shard). A sharded one, resumed by one process with grad_accum 4, ends
    within fp32 tolerance: its checkpoints are gathered into the format of one process."""
    data = write_addition_data(tmp_path / "d.jsonl", 160, seed=8)
    code, single, err = run_engine(job(tmp_path, "single", small_nano_dir, data, accum=4))
    assert code == 0, err[-2000:]
    events = run_ranks(job(tmp_path, "ranks", small_nano_dir, data, accum=2, save_every=2), sharding)
    assert len(of_type(events, "started")) == 1 and len(of_type(events, "result")) == 1  # rank 0 alone
    assert [s.global_step for s in of_type(events, "step")] == [1, 2, 3, 4]
    one = [s.loss for s in of_type(single, "step")]
    two = [s.loss for s in of_type(events, "step")]
    assert all(abs(a - b) <= 1e-5 * abs(a) for a, b in zip(one, two, strict=True)), (one, two)
    assert torch.isfinite(torch.tensor(two)).all()
    # the whole step's tokens are counted, not rank 0's share
    assert of_type(events, "step")[-1].tokens_seen == of_type(single, "step")[-1].tokens_seen
    folders = sorted(p for p in (tmp_path / "ranks").iterdir() if p.name.startswith("checkpoint-"))
    assert [json.loads((f / ".ledger.json").read_text())["step"] for f in folders] == [2, 4]
    a, b = weights_of(single[-1].last_checkpoint_path), weights_of(folders[1])
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    moved = max(float((a[k] - weights_of(small_nano_dir)[k]).abs().max()) for k in a)
    print(f"largest weight difference {worst:.2e}; largest update {moved:.2e}")
    assert moved > 1e-3 and worst < 1e-5, (worst, moved)

    if sharding == "ddp":
        return  # replicated ranks restore the optimizer as one process does (test_engine_resume.py); the
        # cross-rank resume is proven below on the sharded path, where each rank loads its own shard
    halfway = folders[0]
    assert json.loads((halfway / ".ledger.json").read_text())["resume"]["job_step"] == 2
    resumed = run_ranks(job(tmp_path, "resumed", small_nano_dir, data, accum=2, resume_from=str(halfway)), sharding)
    assert of_type(resumed, "started")[0].resume_step == 2
    assert [s.global_step for s in of_type(resumed, "step")] == [3, 4]
    assert [s.loss for s in of_type(resumed, "step")] == two[2:]
    c = weights_of(of_type(resumed, "result")[0].last_checkpoint_path)
    for k in b:
        assert torch.equal(b[k], c[k]), k

    code, alone, err = run_engine(job(tmp_path, "alone", small_nano_dir, data, accum=4, resume_from=str(halfway)))
    assert code == 0, err[-2000:]
    assert of_type(alone, "started")[0].resume_step == 2
    assert all(abs(x - y) <= 1e-5 * abs(x) for x, y in zip([s.loss for s in of_type(alone, "step")], two[2:],
                                                         strict=True))
    d = weights_of(alone[-1].last_checkpoint_path)
    assert max(float((b[k] - d[k]).abs().max()) for k in b) < 1e-5


def test_auto_shards_a_hero_whose_training_state_would_fill_a_rank(small_nano_dir: Path) -> None:
    """auto: fsdp when one copy of the training state (16 bytes a parameter) is over half of a
    rank's memory (simulated here), ddp otherwise; LoRA replicates; one process needs neither."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(small_nano_dir))
    need = 16 * sum(p.numel() for p in model.parameters())
    two, cpu = World(0, 2, 0), torch.device("cpu")
    assert choose_sharding("auto", None, model, cpu) == (None, "one process")
    assert choose_sharding("auto", two, model, cpu, memory_bytes=need)[0] == "fsdp"
    assert choose_sharding("auto", two, model, cpu, memory_bytes=4 * need)[0] == "ddp"
    assert choose_sharding("ddp", two, model, cpu, memory_bytes=need)[0] == "ddp"
    assert choose_sharding("auto", two, model, cpu, "lora", memory_bytes=need)[0] == "ddp"
    with pytest.raises(ValueError, match="use sharding ddp"):
        choose_sharding("fsdp", two, model, cpu, "lora")


def test_control_lines_reach_two_sharded_ranks_and_a_paused_checkpoint_waits_for_resume(
        tmp_path: Path, small_nano_dir: Path) -> None:
    """The daemon's control lines go to torchrun's stdin and rank 0 reads them. Sharded, every rank
    takes part in a save, so a `checkpoint` sent while paused is saved when the battle resumes;
    `stop` then ends both ranks with a checkpoint."""
    data = write_addition_data(tmp_path / "d.jsonl", 200, seed=11)
    path = job(tmp_path, "paused", small_nano_dir, data, accum=1, steps=10_000)
    path.write_text(json.dumps({**json.loads(path.read_text()), "sharding": "fsdp"}))
    proc = subprocess.Popen(engine_command(path, 2), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=engine_env(), bufsize=1)
    seen: list = []
    try:
        wait_for(proc, "step", seen, timeout=180)
        send(proc, "pause")
        paused = wait_for(proc, "paused", seen)
        send(proc, "checkpoint")
        send(proc, "resume")
        wait_for(proc, "resumed", seen)
        saved = wait_for(proc, "checkpoint", seen)
        assert saved.reason == "command" and saved.global_step >= paused.global_step
        send(proc, "stop")
        assert finish(proc, seen) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    result = of_type(seen, "result")[0]
    assert result.stopped and result.success and result.global_step < 10_000
    assert len({e.global_step for e in of_type(seen, "checkpoint")}) == 2  # the command's, then the stop's
