"""Supervised battles: one engine subprocess at a time for the next quest.

A crash (no result: non-zero exit, a signal) restarts from the newest complete
checkpoint with backoff, up to daemon.max_engine_restarts times; then the quest
fails with the engine's last error. A quest found 'processing' after a daemon
restart resumes. XP and gold come from deduplicated events, never twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from backend.daemon.battle_sink import BattleSink
from backend.daemon.checkpoint_scan import scan_checkpoints
from backend.daemon.component import Component
from backend.daemon.config_lock import ensure_lock, lock_problems
from backend.daemon.context import DaemonContext
from backend.daemon.disk_guard import DiskGuard
from backend.daemon.engine_guard import EngineLock
from backend.daemon.engine_proc import STDOUT_LIMIT, EngineProcess
from backend.daemon.engine_standby import EngineStandby
from backend.daemon.jobs import build_job, start_point
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.riders import Lineup, next_lineup, set_riders, waiting_text
from backend.event_kinds import EventKind
from backend.hero import create_nano, hero_exists
from backend.memory_admission import battle_admission
from backend.store.quests import Quest
from contracts.engine_events import StepEvent, TrainingResult

log = logging.getLogger("realm.daemon.battle")
IDLE_S = 2.0
ENGINE_LOCK_WAIT_S = 300.0


class BattleLoop(Component):
    name = "battle"

    def __init__(self, ctx: DaemonContext, pipeline: QuestPipeline,
                 node_pid: Callable[[], int | None] = lambda: None) -> None:
        super().__init__(ctx)
        self.pipeline = pipeline
        self.node_pid = node_pid
        self.engine: EngineProcess | None = None
        self.standby: EngineStandby | None = None
        self.spawning = False
        self.quest: Quest | None = None
        self.riders: tuple[Quest, ...] = ()
        self.player_stopped = False
        self.disk = DiskGuard(ctx, self)
        self.on_checkpoint_hooks: list = []
        self.scanned = False
        # (skill of the battle just fought) -> ...: Generator.settle_queue, set by components
        self.before_next: Callable[[str | None], Awaitable[Any]] | None = None

    # --- the loop -------------------------------------------------------------
    async def run(self, ctx: DaemonContext) -> None:
        try:
            await self.battles(ctx)
        finally:
            await self.drop_standby()

    async def battles(self, ctx: DaemonContext) -> None:
        if self.wants_standby():  # the first battle's engine imports torch while the hero is made and quest 1 posted
            await self.spawn_standby()
        await self.ensure_hero()
        await self.scan_checkpoints_once()
        idle_since: float | None = None
        while not ctx.state.stopping.is_set():
            lineup = await next_lineup(ctx.store, ctx.config)
            if lineup is None or ctx.state.paused:
                idle_since = idle_since or time.monotonic()
                if ctx.state.paused or time.monotonic() - idle_since > ctx.config.daemon.engine_standby_idle_s:
                    await self.drop_standby()
                ctx.state.activity = (await waiting_text(ctx.store, ctx.config) if lineup is None else None) or "idle"
                await self.nap(IDLE_S)
                continue
            idle_since = None
            if await self.config_blocked() or await self.memory_blocked():
                await self.nap(10.0)
                continue
            await self.fight(lineup)
            if self.before_next is not None and not ctx.state.stopping.is_set():
                await self.before_next(lineup.host.skill)

    async def scan_checkpoints_once(self) -> None:
        """Agree with the checkpoint folders on disk (see checkpoint_scan) once per daemon, while no
        engine can be saving: under run/engine.lock."""
        if self.scanned:
            return
        lock = EngineLock(self.ctx.slot.run_dir / "engine.lock")
        if not await lock.acquire(ENGINE_LOCK_WAIT_S, on_wait=self.say_waiting):
            return
        try:
            await scan_checkpoints(self.ctx)
            self.scanned = True
        finally:
            lock.release()

    async def ensure_hero(self) -> None:
        if not hero_exists(self.ctx.slot, self.ctx.config):
            self.ctx.state.activity = "creating hero"
            out = await create_nano(self.ctx.slot, self.ctx.config)
            await self.ctx.event(EventKind.HERO_CREATED, {"path": str(self.ctx.slot.base_model_dir), "detail": out.strip()[-200:]},
                                 dedupe_key="hero_created")

    async def config_blocked(self) -> bool:
        problems = await lock_problems(self.ctx)
        if problems:
            key = "config_blocked:" + "|".join(p.path for p in problems)
            await self.ctx.event(EventKind.WARNING, {"source": "config", "message": "training paused: " + problems[0].what,
                                                     "fix": problems[0].fix}, dedupe_key=key + f":{self.ctx.config_mtime()}")
        return bool(problems)

    async def memory_blocked(self) -> bool:
        """Memory admission (backend.memory_admission): a battle that would not fit does not start;
        the player is told once per settings change by how much, and what would make it fit."""
        admission = await asyncio.to_thread(battle_admission, self.ctx.slot, self.ctx.config, self.node_pid())
        if admission.ok:
            return False
        self.ctx.state.activity = "waiting: not enough memory for the battle"
        await self.ctx.event(EventKind.WARNING, {"source": "memory", "message": "training waits: " + admission.detail,
                                                 "fix": "; ".join(admission.fixes)},
                             dedupe_key=f"memory_blocked:{self.ctx.config_mtime()}")
        return True

    # --- one quest ------------------------------------------------------------
    async def fight(self, lineup: Lineup) -> None:
        ctx = self.ctx
        for q in lineup.quests:
            if q.state != "processing":
                await self.pipeline.move_to(q, "processing", started_at=time.time())
        await set_riders(ctx.store, lineup.host.id, [q.id for q in lineup.riders])
        quest = await ctx.store.quests.get(lineup.host.id)
        self.riders = tuple([r for r in [await ctx.store.quests.get(q.id) for q in lineup.riders] if r])
        await ensure_lock(ctx)
        attempt, delay, exact_resume = 0, ctx.config.daemon.restart_backoff_s, True
        while not ctx.state.stopping.is_set():
            attempt += 1
            await ctx.store.quests.update(quest.id, attempts=quest.attempts + attempt)
            result, engine = await self.run_engine(quest, attempt, exact_resume)
            if result is not None and exact_resume and self.resume_refused(result, engine):
                exact_resume = False
                await ctx.event(EventKind.WARNING, {"source": "battle", "message":
                    f"quest #{quest.id} cannot continue exactly from its checkpoint ({engine.last_error}); "
                    "it starts again from that checkpoint's weights"})
                continue
            if result is not None:
                await self.finish(quest, result, engine)
                return
            await self.drop_standby()  # a spare started beside an engine that crashed or hung is not trusted either
            if ctx.state.stopping.is_set() or self.player_stopped:
                return  # the quest stays 'processing' and resumes later
            reason = engine.crash_reason() if engine else "an engine of a previous daemon still holds run/engine.lock"
            if attempt > ctx.config.daemon.max_engine_restarts:
                await self.fail(quest, reason)
                return
            await ctx.event(EventKind.ENGINE_CRASHED, {"quest_id": quest.id, "name": quest.name, "attempt": attempt,
                                                       "error": reason, "restart_in_s": delay})
            if await self.sleep(delay):
                return
            delay *= 2

    @staticmethod
    def resume_refused(result: TrainingResult, engine: EngineProcess | None) -> bool:
        """The engine would not resume (data or batching settings changed since the
        checkpoint, e.g. after an upgrade): its weights are still good to start from."""
        return not result.success and not result.stopped and engine is not None and engine.last_error_code == "resume"

    async def run_engine(self, quest: Quest, attempt: int,
                         exact_resume: bool = True) -> tuple[TrainingResult | None, EngineProcess | None]:
        """One engine run. The start point is chosen only once run/engine.lock is ours,
        so an engine left by a killed daemon has finished saving first."""
        ctx = self.ctx
        lock = EngineLock(ctx.slot.run_dir / "engine.lock")
        if not await lock.acquire(ENGINE_LOCK_WAIT_S, on_wait=self.say_waiting):
            return None, None
        try:
            champion = await ctx.store.meta.champion_step()
            start = start_point(ctx.slot, ctx.config, quest, exact_resume,
                                int(champion) if champion is not None else None)
            if start.avoided:
                await ctx.event(EventKind.WARNING, {"source": "battle", "code": "exploded_checkpoint_avoided",
                    "message": f"quest #{quest.id} does not build on {start.avoided}; it {start.describe()}"},
                    dedupe_key=f"exploded:{quest.id}:{start.avoided}")
            job = build_job(ctx.slot, ctx.config, quest, start, self.riders)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            engine = EngineProcess(job, ctx.slot.logs_dir / "jobs" / f"quest-{quest.id}-{stamp}.json",
                                   ctx.slot.logs_dir / f"engine-quest-{quest.id}.log",
                                   silence_s=ctx.config.daemon.engine_silence_s,
                                   start_s=ctx.config.daemon.engine_start_s,
                                   devices=ctx.config.hosts.trainer.devices)
            sink = BattleSink(ctx, quest, on_checkpoint=self.after_checkpoint, on_step=self.on_step)
            self.engine, self.quest, self.player_stopped = engine, quest, False
            ctx.state.battle_running, ctx.state.battle_eta_s = True, None
            await ctx.event(EventKind.QUEST_STARTED, {"quest_id": quest.id, "name": quest.name, "skill": quest.skill,
                                                      "level": quest.level, "attempt": attempt, "start": start.describe(),
                                                      "riders": [{"quest_id": r.id, "name": r.name, "source": r.source}
                                                                 for r in self.riders]})
            ctx.state.activity = "training"
            standby, self.standby = self.standby, None
            try:
                await engine.start(lock.fd, standby)
            finally:
                if standby is not None and not engine.warm:
                    await standby.discard()
            result = await engine.events(sink)
            await sink.flush()
            return result, engine
        finally:
            lock.release()
            self.engine = None
            ctx.state.activity = "idle"
            ctx.state.battle_running, ctx.state.battle_eta_s = False, None

    async def on_step(self, event: StepEvent) -> None:
        self.ctx.state.battle_eta_s = event.eta_s
        await self.disk.on_step(event)
        if self.standby is None and not self.spawning and self.wants_standby():
            await self.spawn_standby()

    def wants_standby(self) -> bool:
        ctx = self.ctx
        return (ctx.config.daemon.engine_standby and ctx.config.hosts.trainer.devices <= 1 and not self.player_stopped
                and not ctx.state.paused and not ctx.state.stopping.is_set())

    async def spawn_standby(self) -> None:
        """Never at the battle's expense: a spare that cannot start is only a slower next start."""
        self.spawning = True
        try:
            standby = EngineStandby(self.ctx.slot.logs_dir / "engine-standby.log")
            try:
                await standby.spawn(STDOUT_LIMIT)
            except OSError as exc:
                log.warning("no warm engine for the next battle: %s", exc)
                return
            if self.wants_standby():  # still wanted after the await (a stop or pause may have come)
                self.standby = standby
            else:
                await standby.discard()
        finally:
            self.spawning = False

    async def drop_standby(self) -> None:
        standby, self.standby = self.standby, None
        if standby is not None:
            await standby.discard()

    async def say_waiting(self) -> None:
        await self.ctx.event(EventKind.WARNING, {"source": "battle", "message":
                             "waiting for the engine of the previous daemon to save its checkpoint and exit"})

    async def after_checkpoint(self, event: object) -> None:
        for hook in self.on_checkpoint_hooks:
            await hook(event)

    async def finish(self, quest: Quest, result: TrainingResult, engine: EngineProcess) -> None:
        ctx = self.ctx
        if result.stopped:
            await self.drop_standby()  # nothing trains until the player resumes
            await ctx.event(EventKind.BATTLE_STOPPED, {"quest_id": quest.id, "name": quest.name, "step": result.global_step})
            return  # 'processing' with its checkpoint: resumes when battles resume
        if not result.success:
            await self.fail(quest, result.error_message or engine.last_error or result.summary or "training failed")
            return
        for q in (quest, *self.riders):
            try:
                await self.pipeline.move_to(q, "completed", finished_at=time.time(), steps_done=result.job_steps)
            except OSError as exc:  # the training is kept (its checkpoints); the loop goes on
                await self.fail_in_place(q, f"trained, but its file could not be moved to quests/completed/: {exc}")
                continue
            await ctx.event(EventKind.QUEST_COMPLETED, {
                "quest_id": q.id, "name": q.name, "skill": q.skill, "level": q.level, "source": q.source,
                "steps": result.job_steps, "final_step": result.global_step, "final_loss": result.final_loss,
                "runtime_s": result.runtime_sec, "rode_with": quest.id if q is not quest else None,
                "checkpoint": Path(result.last_checkpoint_path).name if result.last_checkpoint_path else None},
                dedupe_key=f"quest_completed:{q.id}")
        await set_riders(ctx.store, quest.id, [])

    async def fail(self, quest: Quest, reason: str) -> None:
        """The host fails with its reason; the quests that rode with it go back to the queue."""
        try:
            await self.pipeline.move_to(quest, "failed", fail_reason=reason, finished_at=time.time())
            await self.ctx.event(EventKind.QUEST_FAILED, {"quest_id": quest.id, "name": quest.name, "reason": reason})
        except OSError as exc:
            await self.fail_in_place(quest, f"{reason}; its file could not be moved to quests/failed/: {exc}")
        for rider in self.riders:
            try:
                await self.pipeline.move_to(rider, "queued", started_at=None)
            except OSError as exc:
                await self.fail_in_place(rider, f"could not go back to the queue: {exc}")
        await set_riders(self.ctx.store, quest.id, [])

    async def fail_in_place(self, quest: Quest, reason: str) -> None:
        """A quest whose file cannot move fails where it lies, with the reason; never the loop."""
        await self.ctx.store.quests.update(quest.id, state="failed", fail_reason=reason, finished_at=time.time())
        await self.ctx.event(EventKind.QUEST_FAILED, {"quest_id": quest.id, "name": quest.name, "reason": reason})

    # --- control from commands and shutdown --------------------------------------
    async def send(self, command: str) -> bool:
        return bool(self.engine and await self.engine.send(command))

    async def stop(self) -> None:
        """Daemon shutdown: the battle checkpoints and ends; its quest resumes next time."""
        await self.drop_standby()
        if self.engine is not None:
            await self.engine.terminate()
        await self.drop_standby()  # one a last step event may have started meanwhile
