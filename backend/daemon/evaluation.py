"""Evaluations: every new complete checkpoint, exactly once, on the evaluation sets
of each active skill's training level, its frontier, its rusty levels and a few of
its mastered levels (re-checks, the longest unchecked first), at temperature 0,
all of a checkpoint's problems in one batched generation, graded and stored per level, then fed to the curriculum (level-ups, rusty, restored)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.curriculum import STALLED_QUEST_SCALE, stalled
from backend.daemon.context import DaemonContext
from backend.daemon.node_manager import NodeManager
from backend.daemon.taskmaster import Task
from backend.event_kinds import EventKind
from backend.http_client import ServiceError
from backend.skill_progress import skill_progress
from backend.skill_registry import load_skills
from backend.store.checkpoints import CheckpointRow
from contracts.checkpoint import is_complete
from contracts.node_api import model_id_for
from skills.base import Problem, Skill

log = logging.getLogger("realm.daemon.evaluation")
DONE_KEY = "checkpoint_evaluated:{step}"


@dataclass(frozen=True)
class LevelResult:
    skill: str
    level: int
    correct: int
    total: int
    samples: list[dict[str, Any]]

    @property
    def score(self) -> float | None:
        """Mean partial credit of the problems (SY: the share of words right)."""
        scores = [float(s["score"]) for s in self.samples if isinstance(s.get("score"), (int, float))]
        return round(sum(scores) / len(scores), 4) if scores else None


RECHECKS_PER_CHECKPOINT = 2


def grade_level(skill_id: str, skill: Skill, level: int, problems: list[Problem], answers: list[str],
                sha256: str | None) -> LevelResult:
    samples, correct = [], 0
    for problem, answer in zip(problems, answers, strict=True):
        grade = skill.grade(problem, answer)
        correct += int(grade.correct)
        samples.append({"problem_id": problem.id, "prompt": problem.prompt_text, "answer": answer,
                        "golden": problem.answer, "correct": grade.correct, "score": grade.score,
                        "detail": grade.detail, "sha256": sha256})
    return LevelResult(skill_id, level, correct, len(problems), samples)


def levels_to_evaluate(progress: Any, rechecks: int = RECHECKS_PER_CHECKPOINT) -> list[int]:
    """The training level, the frontier, every rusty level, and the `rechecks` mastered levels
    that were evaluated longest ago (the highest mastered level first among equals): over a
    few checkpoints every mastered level is re-checked, so forgetting cannot hide."""
    levels = [progress.training_level]
    for lv in (progress.frontier, *sorted(progress.rusty)):
        if lv not in levels and not (lv == progress.frontier and progress.mastered >= progress.max_level):
            levels.append(lv)
    held = sorted(progress.held, key=lambda lv: (-progress.age(lv), -lv))
    return levels + [lv for lv in held if lv not in levels][:rechecks]


class Evaluator:
    def __init__(self, ctx: DaemonContext, node: NodeManager, after: Any = None) -> None:
        self.ctx = ctx
        self.node = node
        self.skills: dict[str, Skill] = load_skills()
        self.after = after  # async callback(step) once a checkpoint's results are stored

    def checkpoint_path(self, row: CheckpointRow) -> Path:
        return row.folder(self.ctx.slot.root)

    async def pending(self) -> list[CheckpointRow]:
        """Live, complete checkpoints not yet evaluated, newest first."""
        out = []
        for row in await self.ctx.store.checkpoints.live():
            if not await self.ctx.store.events.has(DONE_KEY.format(step=row.step)) and \
                    await asyncio.to_thread(is_complete, self.checkpoint_path(row)):
                out.append(row)
        return out

    async def due(self, ctx: DaemonContext) -> bool:
        """The default node's health is watched by the node manager; a named one (evaluation.node)
        is tried, and a failed try is the task's error, retried at its next run."""
        node_up = ctx.config.evaluation.node is not None or self.node.status == "up"
        return ctx.config.evaluation.enabled and node_up and bool(await self.pending())

    async def run(self, ctx: DaemonContext) -> str:
        pending = await self.pending()
        if not pending:
            return "nothing to evaluate"
        row = pending[0]
        results = await self.evaluate(row)
        await self.record(row, results)
        if self.after:
            await self.after(row.step)
        summary = ", ".join(f"{r.skill.upper()} L{r.level} {r.correct}/{r.total}" for r in results)
        return f"checkpoint-{row.step}: {summary or 'no active skill'}"

    async def evaluate(self, row: CheckpointRow) -> list[LevelResult]:
        """Every planned level's problems in one batched request (chunks of MAX_BATCH_PROMPTS), then graded."""
        progress, _ = await skill_progress(self.ctx.store, self.skills, self.ctx.config.game)
        plan = []
        for skill_id, skill in sorted(self.skills.items()):
            settings = self.ctx.config.curriculum.skills.get(skill_id)
            if settings is not None and not settings.enabled:
                continue
            for level in levels_to_evaluate(progress[skill_id]):
                plan.append((skill_id, skill, level, await asyncio.to_thread(skill.eval_set, level)))
        if not plan:
            return []
        model_id = model_id_for(row.step)
        on = self.ctx.config.evaluation.node
        client = self.node.client(timeout_s=300.0, node=on)
        try:
            await self.node.ensure_available(client, model_id, self.checkpoint_path(row), on)
            await client.load(model_id)
            prompts = [[m.model_dump() for m in p.messages] for *_, problems in plan for p in problems]
            answers, identity = await client.chat_batch(model_id, prompts,
                                                        max_tokens=self.ctx.config.evaluation.max_new_tokens)
        finally:
            await self.unload_unless_needed(client, row.step)
            await client.aclose()
        results, at = [], 0
        for skill_id, skill, level, problems in plan:
            results.append(await asyncio.to_thread(grade_level, skill_id, skill, level, problems,
                                                   answers[at:at + len(problems)], identity.sha256))
            at += len(problems)
        return results

    async def unload_unless_needed(self, client: Any, step: int) -> None:
        keep = {await self.ctx.store.meta.deployed_step(), await self.ctx.store.meta.champion_step()}
        if step in keep:
            return
        try:
            await client.unload(model_id_for(step))
        except ServiceError as exc:
            log.info("unloading checkpoint-%s: %s", step, exc)

    async def record(self, row: CheckpointRow, results: list[LevelResult]) -> None:
        ctx = self.ctx
        for r in results:
            if await ctx.store.evaluations.record(row.step, r.skill, r.level, r.correct, r.total, r.samples):
                await ctx.event(EventKind.EVALUATION, {
                    "step": row.step, "skill": r.skill, "level": r.level, "correct": r.correct, "total": r.total,
                    "accuracy": r.correct / r.total if r.total else 0.0, "score": r.score}, dedupe_key=f"eval:{row.step}:{r.skill}:{r.level}")
        await ctx.event(EventKind.CHECKPOINT_EVALUATED, {"step": row.step}, dedupe_key=DONE_KEY.format(step=row.step))
        await self.update_skill_state()

    async def update_skill_state(self) -> None:
        progress, _ = await skill_progress(self.ctx.store, self.skills, self.ctx.config.game)
        for skill_id, p in progress.items():
            await self.ctx.store.skills.set(skill_id, p.mastered, p.training_level)
            await self.say_if_stalled(p)

    async def say_if_stalled(self, p: Any) -> None:
        """A skill whose training level scores nothing, evaluation after evaluation, still takes its
        turns: the player is told once per level, with what to do about it."""
        trained = await self.ctx.store.quests.steps_trained(p.skill, p.training_level)
        if not stalled(p, trained):
            return
        sid = p.skill
        await self.ctx.event(EventKind.WARNING, {
            "source": "curriculum", "code": "skill_stalled",
            "message": f"{sid.upper()} has not solved one problem in {p.evaluated} evaluations and {trained:,} steps "
                       f"of its own quests (L{p.training_level}); "
                       f"it keeps its turns, on quests of {STALLED_QUEST_SCALE:.0%} of the usual size, until it scores",
            "fix": f"let it train (it may still start to move), or give it less time: strategy weighted with "
                   f"curriculum.skills.{sid}.weight below 1, or disable it in the Guild (e)"},
            dedupe_key=f"skill_stalled:{sid}:{p.training_level}")

    def task(self) -> Task:
        return Task("evaluation", 50, 1.0, "inference", self.run, due=self.due,
                    when="every new checkpoint, on the inference node")
