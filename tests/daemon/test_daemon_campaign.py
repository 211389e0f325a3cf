"""The campaign in the daemon's own parts (real store, real evaluator bookkeeping, real
generator and pipeline; no engine run): low re-checks make a level rusty and the next
generated quest trains it again; small quests ride along with a larger one; a quest
continues the newest checkpoint's training state."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backend.config import load_config
from backend.config.edit import set_value
from backend.daemon.context import DaemonContext
from backend.daemon.evaluation import Evaluator, LevelResult
from backend.daemon.generation import Generator
from backend.daemon.jobs import build_job, start_point
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.riders import estimated_steps, next_lineup, waiting_text
from backend.event_kinds import EventKind
from backend.store import Store
from contracts.checkpoint import LEDGER_NAME


async def context(save) -> DaemonContext:
    store = await Store.open(save.db_path)
    return DaemonContext(save, store, load_config(save.config_path))


def result(skill: str, level: int, correct: int) -> LevelResult:
    return LevelResult(skill, level, correct, 5, [])


async def test_three_low_rechecks_make_a_level_rusty_and_put_it_back_in_training(save) -> None:
    ctx = await context(save)
    try:
        evaluator = Evaluator(ctx, node=None)  # record() and the bookkeeping need no node
        step = 0
        for correct in (5, 5, 4):  # BIN L1 mastered: mean 93 %
            step += 10
            await ctx.store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
            await evaluator.record(await ctx.store.checkpoints.get(step), [result("bin", 1, correct)])
        state = await ctx.store.skills.all()
        assert (state["bin"]["mastered_level"], state["bin"]["training_level"]) == (1, 2)
        for correct in (1, 2, 1):  # three re-checks at 27 %
            step += 10
            await ctx.store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
            await evaluator.record(await ctx.store.checkpoints.get(step),
                                   [result("bin", 2, 0), result("bin", 1, correct)])
        rusty = await ctx.store.events.since(0, kinds=(EventKind.SKILL_RUSTY,))
        assert [(e.payload["skill"], e.payload["level"]) for e in rusty] == [("bin", 1)]
        assert abs(rusty[0].payload["mean_accuracy"] - 4 / 15) < 1e-9
        state = await ctx.store.skills.all()
        assert (state["bin"]["mastered_level"], state["bin"]["training_level"]) == (1, 2)  # still counted
        assert ctx.awards.stats.rusty("bin") == (1,)
        # back in training: the next generated BIN quest rehearses level 1 most, with a raised share
        set_value(save.config_path, "curriculum.strategy", "focus")
        set_value(save.config_path, "curriculum.focus", "bin")
        ctx.config = load_config(save.config_path)
        outcome = await Generator(ctx, QuestPipeline(ctx)).auto(ctx)
        parts = dict((m.group(2), int(m.group(1).replace(",", ""))) for m in
                     re.finditer(r"\+ ([\d,]+) (\w+ level \d+) to rehearse", outcome))
        assert outcome.split(",")[0].endswith("bin level 2") and "bin level 1" in parts, outcome
        main = int(re.search(r"bin level 2, ([\d,]+) examples", outcome).group(1).replace(",", ""))
        assert parts["bin level 1"] > parts["sy level 1"] and parts["bin level 1"] > 0.3 * main, outcome
    finally:
        await ctx.store.close()


async def fake_checkpoint(save, step: int, job_id: str) -> Path:
    """A checkpoint folder with a ledger that the daemon's start point accepts as complete."""
    from contracts.checkpoint import CheckpointLedger, FileDigest, ResumeInfo, combined_weights_sha256, sha256_file

    folder = save.checkpoints_dir / f"checkpoint-{step}-20260101-0000"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 16)
    (folder / "resume_state.pt").write_bytes(b"s" * 16)
    files = {f.name: FileDigest(sha256=sha256_file(f), size=f.stat().st_size) for f in folder.iterdir()}
    ledger = CheckpointLedger(name=folder.name, step=step, job_step=step, init_step=0, reason="end", job_id=job_id,
                              saved_at="2026-01-01T00:00:00Z", files=files, weights_sha256=combined_weights_sha256(files),
                              resume=ResumeInfo(job_id=job_id, init_step=0, job_step=step, total_steps=step, epoch=1,
                                                step_in_epoch=0, data_fingerprint="x", loss_ema=0.5))
    (folder / LEDGER_NAME).write_text(json.dumps(ledger.model_dump(mode="json")))
    return folder


async def test_small_quests_ride_with_the_next_large_one_and_the_campaign_carries_on(save) -> None:
    ctx = await context(save)
    try:
        store = ctx.store
        small = await store.quests.create("sparring-bin.jsonl", "quests/queued/sparring-bin.jsonl", state="queued",
                                          priority="high", source="sparring", examples=6, queued_at=1.0,
                                          validation={"tokens": {"total": 240}})
        assert estimated_steps(await store.quests.get(small), ctx.config) < ctx.config.training.min_quest_steps
        # alone, the small quest never starts an engine job of its own: it waits for a host
        assert await next_lineup(store, ctx.config) is None
        assert "1 small quest(s) of about 1 step(s) wait" in await waiting_text(store, ctx.config)
        large = await store.quests.create("bin-L01-s1.jsonl", "quests/queued/bin-L01-s1.jsonl", state="queued",
                                          priority="normal", source="generator", examples=3000, queued_at=2.0,
                                          skill="bin", level=1, validation={"tokens": {"total": 90_000}})
        lineup = await next_lineup(store, ctx.config)
        assert lineup is not None and lineup.host.id == large and [q.id for q in lineup.riders] == [small]
        # the host's job trains both files and carries on the newest checkpoint's training state
        newest = await fake_checkpoint(save, 120, "quest-7")
        start = start_point(save, ctx.config, lineup.host)
        job = build_job(save, ctx.config, lineup.host, start, lineup.riders)
        assert [Path(f.path).name for f in job.data_files] == ["bin-L01-s1.jsonl", "sparring-bin.jsonl"]
        assert job.continue_from == str(newest) and job.resume_from is None and job.init_step == 120
        assert job.hyperparameters.lr_clock == "campaign" and job.hyperparameters.schedule == "constant"
        assert "continuing the campaign from checkpoint-120" in start.describe()
        # the old behaviour, kept behind a setting: weights only, a fresh optimizer per quest
        set_value(save.config_path, "training.continuity", "per_quest")
        old = start_point(save, load_config(save.config_path), lineup.host)
        assert old.continue_from is None and old.model_dir == str(newest)
    finally:
        await ctx.store.close()
