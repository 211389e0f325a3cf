"""The task master in the daemon's own parts (real store, real pipeline and validator, real
commands through the dispatcher; no engine run): the registry of tasks, the utilisation
threshold for heavy tasks, `realm tasks run` as a command, and the bookkeeping tasks."""

from __future__ import annotations

import asyncio
import json
import time

from backend.command_kinds import CommandKind
from backend.commands_client import submit, wait_for
from backend.config import load_config
from backend.config.edit import set_value
from backend.daemon.chores import health_check, lineage_report, validate_queue, vault_scan, vault_due
from backend.daemon.components import build_components
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.node_manager import NodeManager
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.taskmaster import Task, TaskMaster
from backend.event_kinds import EventKind
from backend.store import Store
from contracts.utilisation import Utilisation
from daemon.harness import chat_lines

SEED_TASKS = {"health_check", "validate_queue", "vault_scan", "model_warmup", "lineage_report", "sparring_round",
              "evaluation", "sparring", "generation", "retention", "database_backup", "quest_tests", "storage_sync"}


async def context(save) -> DaemonContext:
    store = await Store.open(save.db_path)
    return DaemonContext(save, store, load_config(save.config_path))


async def test_every_task_is_registered_with_what_it_needs_and_when_it_runs(save) -> None:
    ctx = await context(save)
    try:
        master = next(c for c in build_components(ctx) if isinstance(c, TaskMaster))
        await master.start()
        rows = {t["name"]: t for t in await ctx.store.tasks.all()}
        assert set(rows) == SEED_TASKS
        assert all(r["description"] and r["resource"] in ("light", "inference", "host") for r in rows.values())
        assert {n for n, r in rows.items() if r["resource"] == "host"} == {"validate_queue", "vault_scan",
                                                                          "sparring_round"}
        assert rows["sparring_round"]["cooldown_s"] == 24 * 3600
    finally:
        await ctx.store.close()


async def test_heavy_tasks_wait_for_both_machines_below_the_threshold(save) -> None:
    ctx = await context(save)
    try:
        node_load: list[Utilisation | None] = [None]
        ran: list[str] = []

        async def work(_ctx) -> str:
            ran.append("heavy")
            return "done"

        heavy = Task("heavy", 1, 60.0, "host", work)
        master = TaskMaster(ctx, [heavy], node_utilisation=lambda: node_load[0])
        ctx.state.activity = "training"
        now = time.time()
        assert ctx.config.daemon.tasks_busy_percent == 40.0
        master.monitor.trainer = Utilisation(cpu_percent=93.0)
        assert not master.resource_free(heavy, now)
        master.monitor.trainer = Utilisation(cpu_percent=93.0, gpu_percent=12.0)  # a GPU rig: the GPU counts
        assert master.resource_free(heavy, now)
        node_load[0] = Utilisation(cpu_percent=5.0, gpu_percent=80.0)  # the inference host is busy
        assert not master.resource_free(heavy, now)
        verdict = master.monitor.hosts_idle()
        assert not verdict and "node 80 % GPU" in verdict.reason and "below 40 %" in verdict.reason
        node_load[0] = Utilisation(cpu_percent=5.0, gpu_percent=10.0)
        assert master.resource_free(heavy, now)
        # busy all day: once it has waited a whole cooldown past due, it runs anyway
        master.monitor.trainer = Utilisation(cpu_percent=100.0)
        assert not master.resource_free(heavy, now)
        assert not master.resource_free(heavy, now + 59)
        assert master.resource_free(heavy, now + 61)
        ctx.state.activity = "idle"  # no battle: heavy work is welcome
        heavy.waiting_since = None
        assert master.resource_free(heavy, now)
        assert ran == []
    finally:
        await ctx.store.close()


async def test_a_task_runs_now_through_a_command_without_blocking_the_others(save) -> None:
    ctx = await context(save)
    try:
        release = asyncio.Event()

        async def slow(_ctx) -> str:
            await release.wait()
            return "slow work done"

        master = TaskMaster(ctx, [Task("slow", 1, 3600.0, "light", slow, when="on demand")])
        await master.start()
        dispatcher = Dispatcher(ctx)
        master.register(dispatcher)
        paused: list[bool] = []

        async def pause(_ctx, _p) -> dict:
            paused.append(True)
            return {}

        dispatcher.register(CommandKind.PAUSE, pause)
        run_id = await submit(ctx.store, CommandKind.TASK_RUN, {"name": "slow"}, source="test")
        pause_id = await submit(ctx.store, CommandKind.PAUSE, {}, source="test")
        await dispatcher.run_pending()
        assert (await wait_for(ctx.store, pause_id, 5)).status == "done" and paused == [True]  # not stuck behind it
        assert (await ctx.store.commands.get(run_id)).status == "running"
        assert await master.tick() is None  # never twice at once
        release.set()
        done = await wait_for(ctx.store, run_id, 5)
        assert done.status == "done" and done.result == {"task": "slow", "status": "ok", "outcome": "slow work done"}
        row = next(t for t in await ctx.store.tasks.all() if t["name"] == "slow")
        assert row["runs"] == 1 and row["last_detail"] == "slow work done"
        assert row["next_run_at"] - row["last_run_at"] > 3500
        unknown = await submit(ctx.store, CommandKind.TASK_RUN, {"name": "nope"}, source="test")
        await dispatcher.run_pending()
        failed = await wait_for(ctx.store, unknown, 5)
        assert failed.status == "failed" and "use one of: slow" in failed.result["error"]
    finally:
        await ctx.store.close()


async def test_health_check_reports_and_warns_once(save) -> None:
    ctx = await context(save)
    try:
        node = NodeManager(ctx)  # not started: the check says so
        line = await health_check(ctx, node)
        assert line.startswith("database ok, ") and "node starting" in line
        await health_check(ctx, node)
        warnings = [e.payload for e in await ctx.store.events.since(0, kinds=(EventKind.WARNING,))]
        assert [w["code"] for w in warnings] == ["health_node"]  # once a day, not every 5 minutes
    finally:
        await ctx.store.close()


async def queue(ctx: DaemonContext, pipeline: QuestPipeline, name: str, data: bytes) -> int:
    src = ctx.slot.root / "staging" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    quest_id = await pipeline.take(src, source="inbox")
    await pipeline.validate(quest_id)
    assert (await ctx.store.quests.get(quest_id)).state == "queued"
    return quest_id


async def test_the_queue_is_validated_again_when_the_validator_changed(save) -> None:
    ctx = await context(save)
    try:
        pipeline = QuestPipeline(ctx)
        kept = await queue(ctx, pipeline, "kept.jsonl", chat_lines(60))
        spoiled = await queue(ctx, pipeline, "spoiled.jsonl", chat_lines(60, start=100))
        current = await queue(ctx, pipeline, "current.jsonl", chat_lines(60, start=200))
        assert "validated by validator" in await validate_queue(ctx, pipeline)  # nothing stale: nothing done
        for quest_id in (kept, spoiled):  # as an older validator left them
            quest = await ctx.store.quests.get(quest_id)
            await ctx.store.quests.update(quest_id, validation={**quest.validation, "validator_version": "0"})
        held = (ctx.slot.root / (await ctx.store.quests.get(kept)).path)
        held_lines = held.with_name(held.name + ".heldout.jsonl").read_text().splitlines()
        bad = ctx.slot.root / (await ctx.store.quests.get(spoiled)).path
        bad.write_text("not json\n" * 60)  # what the new rules would refuse
        line = await validate_queue(ctx, pipeline)
        assert line.endswith("2 quest(s) validated again by validator " + (await ctx.store.quests.get(kept))
                             .validation["validator_version"] + ": 1 refused")
        again = await ctx.store.quests.get(kept)
        assert again.state == "queued" and again.validation["held_out"] == len(held_lines) >= 1
        trained = held.with_name(held.name + ".train.jsonl").read_text().splitlines()
        assert len(trained) == 60 - len(held_lines) and not set(trained) & set(held_lines)  # held out still
        refused = await ctx.store.quests.get(spoiled)
        assert refused.state == "failed" and refused.fail_reason and (ctx.slot.root / refused.path).is_file()
        failed = await ctx.store.events.since(0, kinds=(EventKind.QUEST_FAILED,))
        assert [e.payload["quest_id"] for e in failed] == [spoiled]
        assert (await ctx.store.quests.get(current)).state == "queued"
    finally:
        await ctx.store.close()


async def test_vault_scan_waits_between_battles_and_never_touches_a_save_in_progress(save) -> None:
    ctx = await context(save)
    try:
        saving = ctx.slot.checkpoints_dir / ".tmp-checkpoint-40-x"
        saving.mkdir(parents=True)
        ctx.state.activity = "training"
        assert not await vault_due(ctx)
        ctx.state.activity = "idle"
        assert await vault_due(ctx)
        assert await vault_scan(ctx) == "the vault matches the checkpoint folders"
        assert saving.is_dir()
    finally:
        await ctx.store.close()


async def test_lineage_report_flags_a_generator_that_fails_often_once(save) -> None:
    ctx = await context(save)
    try:
        for i in range(6):
            await ctx.store.lineage.record("generator", "shaky-gen", "2", passed=i < 2, lines_total=10,
                                           lines_bad=0 if i < 2 else 10, reasons={} if i < 2 else {"bad_json": 10},
                                           file=f"f{i}.jsonl")
        line = await lineage_report(ctx)
        await lineage_report(ctx)
        assert line == "1 generator(s), 0 validator(s), 1 flagged; worst generator shaky-gen 67%"
        warnings = [e.payload for e in await ctx.store.events.since(0, kinds=(EventKind.WARNING,))]
        assert len(warnings) == 1 and "generator shaky-gen 2 fails 67% of its 6 files" in warnings[0]["message"]
        assert "bad_json" in warnings[0]["message"]
    finally:
        await ctx.store.close()


async def test_the_busy_threshold_is_a_setting(save) -> None:
    config, problems = set_value(save.config_path, "daemon.tasks_busy_percent", json.dumps(75))
    assert config is not None and config.daemon.tasks_busy_percent == 75, problems
    config, problems = set_value(save.config_path, "daemon.tasks_busy_percent", json.dumps(0))
    assert config is None and problems


async def test_the_next_quest_is_chosen_near_the_end_of_the_running_battle(save) -> None:
    """auto_generate.lead_s: while a battle runs, its successor waits until the battle has
    lead_s left, so the choice sees the evaluations of the battle's checkpoints."""
    from backend.daemon.generation import Generator

    ctx = await context(save)
    try:
        generator = Generator(ctx, QuestPipeline(ctx))
        assert not generator.too_early(ctx)  # nothing runs: generate at once
        ctx.state.battle_running = True
        assert generator.too_early(ctx)  # started, no estimate yet
        ctx.state.battle_eta_s = 95.0
        assert generator.too_early(ctx)
        ctx.state.battle_eta_s = 12.0
        assert not generator.too_early(ctx)
        ctx.config.curriculum.auto_generate.lead_s = 0
        ctx.state.battle_eta_s = 95.0
        assert not generator.too_early(ctx)  # 0: as soon as the queue runs low
    finally:
        await ctx.store.close()


async def test_an_auto_quest_for_a_level_mastered_before_it_started_is_superseded(save) -> None:
    """The next quest is chosen before the running battle ends; when that battle's last checkpoints
    master the level, the queued quest would train what DIO now knows: it is replaced. A quest the
    player asked for with `generate` is kept as asked."""
    from backend.daemon.generation import Generator

    ctx = await context(save)
    try:
        generator = Generator(ctx, QuestPipeline(ctx))
        auto = await generator.generate("bin", 1, 40)
        asked = await generator.generate("bin", 1, 40)  # the player's own request: not in auto_ids
        generator.auto_ids.add(auto)
        for quest_id in (auto, asked):
            await generator.pipeline.validate(quest_id)
            assert (await ctx.store.quests.get(quest_id)).state == "queued"
        assert await generator.stale_auto_quest() is None  # BIN L1 is still the training level
        for step in (50, 100, 150):  # three evaluations at 100 %: BIN L1 mastered
            await ctx.store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
            await ctx.store.evaluations.record(step, "bin", 1, 5, 5, [])
        stale = await generator.stale_auto_quest()
        assert stale is not None and stale[0].id == auto
        line = await generator.supersede(*stale)
        assert line == f"quest #{auto} superseded: BIN level 1 was mastered before it started"
        gone = await ctx.store.quests.get(auto)
        assert gone.state == "deleted" and (ctx.slot.root / gone.path).is_file()  # moved, not destroyed
        assert (await ctx.store.quests.get(asked)).state == "queued"
        deleted = await ctx.store.events.since(0, kinds=(EventKind.QUEST_DELETED,))
        assert [e.payload["reason"] for e in deleted] == ["BIN level 1 was mastered before it started"]
        assert await generator.stale_auto_quest() is None
        assert not await ctx.store.quests.change_state(auto, "queued", "deleted")  # only from the state named
    finally:
        await ctx.store.close()


async def test_a_queued_auto_quest_gives_way_when_the_skill_trained_now_goes_on_the_verge(save) -> None:
    """The choice for the next quest was made early in a short battle (BIN level 1 at 10 %); by the
    hand-over BIN reads 80 %: under the equal strategy it keeps its turn, so the queued SY quest is
    replaced, and it does not count as SY's turn."""
    from backend.daemon.generation import Generator
    from backend.skill_progress import recent_generated_skills

    ctx = await context(save)
    try:
        ctx.config.curriculum.auto_generate.enabled = True  # the harness turns it off
        generator = Generator(ctx, QuestPipeline(ctx))
        first = await generator.generate("bin", 1, 40)
        await generator.pipeline.validate(first)
        await ctx.store.quests.update(first, state="processing")  # the battle that runs now
        await ctx.store.checkpoints.record(50, "checkpoint-50", "checkpoints/checkpoint-50")
        await ctx.store.evaluations.record(50, "bin", 1, 1, 10, [])
        nxt = await generator.generate("sy", 1, 40)
        generator.auto_ids.add(nxt)
        await generator.pipeline.validate(nxt)
        assert await generator.stale_auto_quest() is None  # BIN at 10 %: SY's turn stands
        await ctx.store.checkpoints.record(100, "checkpoint-100", "checkpoints/checkpoint-100")
        await ctx.store.evaluations.record(100, "bin", 1, 8, 10, [])
        stale = await generator.stale_auto_quest()
        assert stale is not None and stale[0].id == nxt
        assert stale[1] == "BIN level 1 went on the verge before it started and keeps its turn"
        await generator.supersede(*stale)
        assert await recent_generated_skills(ctx.store) == ["bin"]  # the superseded SY quest had no turn
        line = await generator.auto(ctx)
        assert "bin level 1" in line and "on the verge" in line, line
    finally:
        await ctx.store.close()


async def test_at_the_hand_over_the_last_checkpoint_is_waited_for_and_decides_the_next_quest(save) -> None:
    """A short first battle ends before its last checkpoint is evaluated: the hand-over waits for
    that evaluation (BIN L1 at 20 % before it, as in a played save, where the first battle's last
    checkpoint read 90 %), and the queued SY quest gives way to BIN, which went on the verge."""
    import asyncio

    from backend.daemon.generation import Generator

    ctx = await context(save)
    try:
        ctx.config.evaluation.enabled = True
        ctx.config.curriculum.auto_generate.enabled = True  # the harness turns it off
        generator = Generator(ctx, QuestPipeline(ctx))
        first = await generator.generate("bin", 1, 40)
        await generator.pipeline.validate(first)
        await ctx.store.quests.update(first, state="completed")
        for step, correct in ((50, 0), (100, 2)):
            await ctx.store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
            await ctx.store.evaluations.record(step, "bin", 1, correct, 10, [])
        nxt = await generator.generate("sy", 1, 40)
        generator.auto_ids.add(nxt)
        await generator.pipeline.validate(nxt)
        assert await generator.settle_queue("sy", wait_s=0.1) is None  # the same skill's turn goes on: nothing to do
        await ctx.store.checkpoints.record(150, "checkpoint-150", "checkpoints/checkpoint-150")  # not evaluated yet
        settling = asyncio.create_task(generator.settle_queue("bin", wait_s=30.0))
        await asyncio.sleep(0.6)
        assert not settling.done()  # waiting for checkpoint-150's evaluation
        await ctx.store.evaluations.record(150, "bin", 1, 9, 10, [])
        line = await asyncio.wait_for(settling, 10.0)
        assert line is not None and f"quest #{nxt} superseded: BIN level 1 went on the verge" in line
        assert "bin level 1" in line and (await ctx.store.quests.get(nxt)).state == "deleted"
        assert await generator.auto(ctx) == "1 quest(s) queued: another caller made the next one"  # nothing left
    finally:
        await ctx.store.close()
