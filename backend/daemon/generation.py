"""Quest generation: auto-generation when the queue runs low (the curriculum picks
skill and level, and mixes in the other skills to rehearse) and the player's
'generate' command (exactly what was asked). Generated files carry their
lineage sidecar and enter the normal pipeline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from backend.command_kinds import CommandKind, QuestGenerate
from backend.curriculum import STALLED_QUEST_SCALE, decide, rehearsal_levels, rehearsal_share, should_generate, stalled
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.riders import hosts_queued
from backend.daemon.taskmaster import Task
from backend.event_kinds import EventKind
from backend.hero import hero_exists, tokenizer_file
from backend.quest_size import MIN_EXAMPLES, examples_for_tokens
from backend.questgen import QuestPart, quest_filename, write_mixed_quest
from backend.skill_progress import recent_generated_skills, skill_progress
from backend.skill_registry import check_level, get_skill, load_skills
from backend.store.quests import Quest

SEED_META_KEY = "next_generation_seed"


HANDOVER_WAIT_S = 6.0  # longest wait at a hand-over for the evaluation of the battle's last checkpoint
# ... only when the skill just trained read at least this at its latest evaluation (it may be on the
# verge now). Measured (benchmarks/RESULTS.md, run 17): BIN level 1 read 20 % at step 150 and 90 % at
# the first battle's last checkpoint (192); at 30 % the hand-over did not wait, SY took the next turn
# and BIN level 1 was mastered 2 minutes later than it could have been. The wait is the evaluation of
# one checkpoint (1.7 s there), so it is taken as soon as a level solves anything at all.
SETTLE_FROM = 0.1


class Generator:
    def __init__(self, ctx: DaemonContext, pipeline: QuestPipeline) -> None:
        self.ctx = ctx
        self.pipeline = pipeline
        self.skills = load_skills()
        self.last_generated_at: float | None = None
        self.auto_ids: set[int] = set()  # quests this daemon auto-generated (the player's own requests are kept as asked)
        self._progress: tuple[Any, dict[str, Any]] | None = None
        self.auto_lock = asyncio.Lock()  # auto(): from the task master and from the battle's hand-over

    async def next_seed(self) -> int:
        seed = int(await self.ctx.store.meta.get(SEED_META_KEY, 1))
        await self.ctx.store.meta.set(SEED_META_KEY, seed + 1)
        return seed

    async def generate(self, skill_id: str, level: int, count: int, priority: str = "normal", seed: int | None = None,
                       rehearse: tuple[tuple[str, int, int], ...] = ()) -> int:
        """Write a quest of `count` problems of the skill at `level` (plus `rehearse`: other
        skills' (skill, level, count) shuffled in) and hand it to the quest pipeline."""
        skill = get_skill(self.skills, skill_id)
        check_level(skill, skill_id, level)
        parts = [QuestPart(skill, level, count)] + [QuestPart(get_skill(self.skills, s), lv, n) for s, lv, n in rehearse]
        seed = await self.next_seed() if seed is None else seed
        out = self.ctx.slot.run_dir / "generated" / quest_filename(skill_id, level, seed)
        await asyncio.to_thread(write_mixed_quest, parts, seed, out)
        self.last_generated_at = time.time()
        return await self.pipeline.take(out, source="generator", priority=priority)

    def auto_count(self, skill_id: str, level: int, share: float = 1.0, minimum: int = MIN_EXAMPLES) -> int:
        """Examples of `share` of an auto-generated quest: sized by tokens unless auto_generate.tokens
        is 0 (then the share counts examples)."""
        auto = self.ctx.config.curriculum.auto_generate
        if not auto.tokens:
            return max(1, round(auto.count * share))  # auto_generate.count as set, not raised to a minimum
        tokenizer = tokenizer_file(self.ctx.slot, self.ctx.config)
        return examples_for_tokens(get_skill(self.skills, skill_id), level, round(auto.tokens * share), tokenizer, minimum)

    def auto_parts(self, skill_id: str, level: int, others: list[tuple[str, int, float]],
                   share: float, scale: float = 1.0) -> tuple[int, tuple[tuple[str, int, int], ...]]:
        """The quest's own examples, and the rehearsal of what DIO already knows and of the other
        skills (`share` of the tokens, split by the curriculum's weights); `scale` of the usual size."""
        share = share if others else 0.0
        total = sum(w for _, _, w in others) or 1.0
        rehearse = tuple((s, lv, self.auto_count(s, lv, scale * share * w / total, minimum=1)) for s, lv, w in others)
        return self.auto_count(skill_id, level, scale * (1.0 - share)), rehearse

    async def queue_length(self) -> int:
        """Quests that will fight a battle of their own (small ones ride along with those)."""
        counts = await self.ctx.store.quests.counts()
        return await hosts_queued(self.ctx.store, self.ctx.config) + counts["validating"]

    async def due(self, ctx: DaemonContext) -> bool:
        if not hero_exists(ctx.slot, ctx.config):
            return False  # quests are sized with the hero's tokenizer: wait until nano DIO exists
        if ctx.config.curriculum.auto_generate.enabled and await self.stale_auto_quest() is not None:
            return True
        if not should_generate(await self.queue_length(), ctx.config.curriculum, self.last_generated_at, time.time()):
            return False
        return not self.too_early(ctx)

    @staticmethod
    def too_early(ctx: DaemonContext) -> bool:
        """A battle is running with more than auto_generate.lead_s left (or no estimate yet): deciding
        now would miss the evaluations of its coming checkpoints (a level it masters, or nearly)."""
        lead = ctx.config.curriculum.auto_generate.lead_s
        state = ctx.state
        return bool(lead) and state.battle_running and (state.battle_eta_s is None or state.battle_eta_s > lead)

    async def stale_auto_quest(self) -> tuple[Quest, str] | None:
        """A queued auto-generated quest that the newest evaluations overtook, and why: its level was
        mastered since, or (the equal strategy) the skill trained now went on the verge and keeps its
        turn. The next quest is chosen a little before the running battle ends, and that battle's
        last checkpoints can change the choice; a battle of a few hundred steps ends before many."""
        if not self.auto_ids:
            return None
        waiting = [q for q in await self.ctx.store.quests.list(("queued", "validating")) if q.id in self.auto_ids]
        self.auto_ids = {q.id for q in waiting}  # the others started or are gone
        queued = [q for q in waiting if q.state == "queued"]
        if not queued:
            return None
        progress = await self.progress()
        for q in queued:
            if q.skill in progress and q.level is not None and q.level < progress[q.skill].training_level:
                return q, f"{(q.skill or '').upper()} level {q.level} was mastered before it started"
        first = min(queued, key=lambda q: q.id)
        recent = await recent_generated_skills(self.ctx.store, before_id=first.id)
        now = decide(self.ctx.config.curriculum, progress, recent)
        if now.kept_turn and now.skill != first.skill:
            return first, (f"{(now.skill or '').upper()} level {now.level} went on the verge before it started "
                           "and keeps its turn")
        return None

    async def progress(self) -> dict[str, Any]:
        """skill_progress, replayed again only when an evaluation was recorded (due() asks every tick)."""
        rows = await self.ctx.store.fetchall("SELECT MAX(id) AS top FROM evaluations")
        top = rows[0]["top"] if rows else None
        if self._progress is None or self._progress[0] != top:
            self._progress = (top, (await skill_progress(self.ctx.store, self.skills, self.ctx.config.game))[0])
        return self._progress[1]

    async def settle_queue(self, finished_skill: str | None, wait_s: float = HANDOVER_WAIT_S) -> str | None:
        """At a hand-over: when the next queued quest is an auto quest of another skill and the skill
        just trained was close (SETTLE_FROM at its latest evaluation), wait for the evaluation of the
        battle's last checkpoint (at most `wait_s`) and let a queued quest it overtook give way now,
        before the next battle takes it. A first battle is short (a few hundred steps): its last
        checkpoint decides whether the level is on the verge. What was done, or None."""
        ctx = self.ctx
        if not (ctx.config.curriculum.auto_generate.enabled and ctx.config.evaluation.enabled) or not finished_skill:
            return None
        queued = [q for q in await ctx.store.quests.list(("queued",)) if q.id in self.auto_ids]
        if not queued or min(queued, key=lambda q: q.id).skill == finished_skill:
            return None
        progress = await self.progress()
        p = progress.get(finished_skill)
        latest = p.latest(p.training_level) if p is not None else None
        if latest is None or latest < SETTLE_FROM:
            return None
        newest = await ctx.store.checkpoints.newest()
        end = time.monotonic() + wait_s
        while newest is not None and newest.step not in await ctx.store.evaluations.evaluated_steps():
            if time.monotonic() >= end or ctx.state.stopping.is_set():
                break
            await asyncio.sleep(0.2)
        if await self.stale_auto_quest() is None:
            return None
        return await self.auto(ctx)  # under auto_lock: a task-master run at the same moment waits, then stops

    async def supersede(self, quest: Quest, reason: str) -> str:
        self.auto_ids.discard(quest.id)
        if not await self.ctx.store.quests.change_state(quest.id, "queued", "deleted"):
            return f"quest #{quest.id} started before it could be superseded"  # the battle took it meanwhile
        dest = await self.pipeline.move_to(quest, "deleted")
        self.last_generated_at = None  # its replacement is generated at once
        await self.ctx.event(EventKind.QUEST_DELETED, {"quest_id": quest.id, "name": quest.name, "reason": reason,
                                                       "moved_to": str(dest.relative_to(self.ctx.slot.root))})
        return f"quest #{quest.id} superseded: {reason}"

    async def auto(self, ctx: DaemonContext) -> str:
        """The curriculum's next quest (after superseding a queued one the evaluations overtook). Both
        the task master and the battle's hand-over (settle_queue) call it: one at a time, and the
        second finds nothing left to do."""
        async with self.auto_lock:
            stale = await self.stale_auto_quest()
            queued = await self.queue_length()
            if stale is None and queued >= max(ctx.config.curriculum.auto_generate.threshold, 1):
                return f"{queued} quest(s) queued: another caller made the next one"
            return await self.generate_next(ctx, stale)

    async def generate_next(self, ctx: DaemonContext, stale: tuple[Quest, str] | None) -> str:
        superseded = await self.supersede(*stale) + "; " if stale is not None else ""
        progress = await self.progress()
        decision = decide(ctx.config.curriculum, progress, await recent_generated_skills(ctx.store))
        if decision.skill is None:
            self.last_generated_at = time.time()
            return superseded + decision.reason
        others = rehearsal_levels(ctx.config.curriculum, progress, decision.skill, ctx.config.game.level_up_window)
        share = rehearsal_share(ctx.config.curriculum, progress, others)
        trained = await ctx.store.quests.steps_trained(decision.skill, decision.level)
        scale = STALLED_QUEST_SCALE if stalled(progress[decision.skill], trained) else 1.0
        count, rehearse = await asyncio.to_thread(self.auto_parts, decision.skill, decision.level, others, share, scale)
        quest_id = await self.generate(decision.skill, decision.level, count, rehearse=rehearse)
        self.auto_ids.add(quest_id)
        mixed = "".join(f" + {n:,} {s} level {lv} to rehearse" for s, lv, n in rehearse)
        small = f"; {decision.skill} is stalled at 0 %: a quest of {scale:.0%} of the usual size" if scale < 1 else ""
        return (f"{superseded}quest #{quest_id}: {decision.skill} level {decision.level}, {count:,} examples{mixed} "
                f"({decision.reason}{small})")

    def task(self) -> Task:
        return Task("generation", 30, lambda ctx: ctx.config.curriculum.auto_generate.cooldown_s, "light",
                    self.auto, due=self.due, when="when the queue runs low: the curriculum's next quest")

    def register(self, dispatcher: Dispatcher) -> None:
        async def handle(ctx: DaemonContext, p: QuestGenerate) -> dict[str, Any]:
            level = p.level
            if level is None:
                progress, _ = await skill_progress(ctx.store, self.skills, ctx.config.game)
                get_skill(self.skills, p.skill)
                level = progress[p.skill].training_level
            quest_id = await self.generate(p.skill, level, p.count, p.priority, p.seed)
            return {"quest_id": quest_id, "skill": p.skill, "level": level}

        dispatcher.register(CommandKind.QUEST_GENERATE, handle)
