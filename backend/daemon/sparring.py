"""Sparring: K problems at the training level against the newest checkpoint; every
wrong answer becomes three examples in a HIGH-priority quest:

1. the problem with DIO's wrong answer, "Is this correct?" -> "It is incorrect."
2. the problem with DIO's wrong answer, "This is incorrect. Find the correct
   solution." -> the golden answer
3. a fresh problem with its golden answer, "Is this correct?" -> "It is correct."

DIO's wrong answer is shown inside the user turn, never as an assistant turn:
every assistant turn is trained on, and a wrong answer must not be learned.
Sparring quests made more than sparring.max_age_steps ago are dropped (moved to
quests/deleted/, with an event) before they train.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from backend.command_kinds import CommandKind
from backend.command_kinds import Spar as SparRequest
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.node_manager import NodeManager
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.taskmaster import Task
from backend.daemon.zone_ops import fetch_to_trainer
from backend.errors import UserFacingError
from backend.event_kinds import EventKind
from backend.questgen import atomic_write_text
from backend.skill_progress import skill_progress
from backend.skill_registry import check_level, load_skills
from backend.validation import load_sidecar
from contracts.node_api import model_id_for
from contracts.quest_meta import QuestMeta, meta_path_for
from skills.base import Problem, Skill

log = logging.getLogger("realm.daemon.sparring")
GENERATOR_ID = "sparring"
GENERATOR_VERSION = "1"
ASK_CORRECT = "Is this correct?"
ASK_FIX = "This is incorrect. Find the correct solution."
SEED_KEY = "next_sparring_seed"
LAST_KEY = "last_sparring_step"


NO_ANSWER = "(no answer)"


def proposal(problem: Problem, answer: str, question: str) -> list[dict[str, str]]:
    """The problem's own turns, with the last user turn carrying the proposed answer
    (an empty answer is shown as "(no answer)": it is wrong too)."""
    messages = [m.model_dump() for m in problem.messages]
    shown = answer.strip() or NO_ANSWER
    messages[-1] = {"role": "user", "content": f"{messages[-1]['content']}\n{shown}\n\n{question}"}
    return messages


def sparring_examples(problem: Problem, wrong: str, fresh: Problem) -> list[dict[str, Any]]:
    return [
        {"messages": [*proposal(problem, wrong, ASK_CORRECT), {"role": "assistant", "content": "It is incorrect."}]},
        {"messages": [*proposal(problem, wrong, ASK_FIX), {"role": "assistant", "content": problem.answer}]},
        {"messages": [*proposal(fresh, fresh.answer, ASK_CORRECT), {"role": "assistant", "content": "It is correct."}]},
    ]


def validate_sparring(skill: Skill, problem: Problem, wrong: str, fresh: Problem) -> list[str]:
    """The sparring validator: the triple must say what the grader says."""
    problems = []
    if skill.grade(problem, wrong).correct:
        problems.append(f"{problem.id}: the 'wrong' answer {wrong!r} passes the grader")
    if not skill.grade(problem, problem.answer).correct:
        problems.append(f"{problem.id}: the golden answer fails the grader")
    if not skill.grade(fresh, fresh.answer).correct:
        problems.append(f"{fresh.id}: the fresh golden answer fails the grader")
    return problems


@dataclass(frozen=True)
class Bout:
    step: int
    skill: str
    level: int
    problems: int
    wrong: int
    quest_id: int | None
    examples: int

    @property
    def line(self) -> str:
        head = f"checkpoint-{self.step}: {self.problems - self.wrong}/{self.problems} {self.skill} L{self.level} right"
        if self.quest_id is not None:
            return f"{head} -> quest #{self.quest_id} ({self.examples} examples, HIGH)"
        if self.wrong:
            return f"{head}; no wrong answer made a valid sparring example"
        return head


class Sparring:
    def __init__(self, ctx: DaemonContext, node: NodeManager, pipeline: QuestPipeline) -> None:
        self.ctx = ctx
        self.node = node
        self.pipeline = pipeline
        self.skills = load_skills()

    async def newest_evaluated(self) -> Any:
        newest = await self.ctx.store.checkpoints.newest()
        if newest and await self.ctx.store.events.has(f"checkpoint_evaluated:{newest.step}"):
            return newest
        return None

    async def due(self, ctx: DaemonContext) -> bool:
        if not ctx.config.sparring.enabled or self.node.status != "up":
            return False
        newest = await self.newest_evaluated()
        if newest is None:
            return False
        last = await ctx.store.meta.get(LAST_KEY)
        if last is not None and newest.step - last < ctx.config.sparring.every_steps:
            return False
        best = await ctx.store.scalar(
            "SELECT MAX(accuracy) FROM evaluations e JOIN skill_state s ON s.skill = e.skill "
            "AND e.level = s.training_level WHERE e.checkpoint_step = ?", (newest.step,))
        return best is not None and best >= ctx.config.sparring.min_accuracy

    async def pick_skill(self, row: Any) -> tuple[str, int] | None:
        progress, _ = await skill_progress(self.ctx.store, self.skills, self.ctx.config.game)
        enabled = self.enabled()
        skill_id = row.skill if row.skill in enabled else (enabled[0] if enabled else None)
        return (skill_id, progress[skill_id].training_level) if skill_id else None

    async def next_seed(self) -> int:
        seed = int(await self.ctx.store.meta.get(SEED_KEY, 1_000_000))
        await self.ctx.store.meta.set(SEED_KEY, seed + 1)
        return seed

    async def run(self, ctx: DaemonContext) -> str:
        await self.drop_stale()
        row = await self.newest_evaluated()
        if row is None:
            return "no evaluated checkpoint yet"
        await ctx.store.meta.set(LAST_KEY, row.step)
        choice = await self.pick_skill(row)
        if choice is None:
            return "no enabled skill"
        return (await self.bout(row.step, *choice, ctx.config.sparring.problems)).line

    async def bout(self, step: int, skill_id: str, level: int, k: int, kind: str = "auto") -> "Bout":
        """K problems of the skill's level against checkpoint `step`; the wrong answers become a HIGH quest."""
        skill, seed = self.skills[skill_id], await self.next_seed()
        problems = await asyncio.to_thread(skill.sample, level, 2 * k, seed)
        examples, wrong = await self.spar(step, skill, problems[:k], problems[k:])
        await self.ctx.event(EventKind.SPARRING, {"step": step, "skill": skill_id, "level": level,
                                                  "problems": k, "wrong": wrong, "kind": kind})
        quest_id = await self.enqueue(examples, skill_id, level, seed, step) if examples else None
        return Bout(step, skill_id, level, k, wrong, quest_id, len(examples))

    async def champion_round(self, ctx: DaemonContext) -> str:
        """The daily round: sparring.round_problems of every enabled skill's training level against
        the deployed champion."""
        step = await ctx.store.meta.deployed_step()
        if step is None:
            return "no champion deployed yet"
        progress, _ = await skill_progress(ctx.store, self.skills, ctx.config.game)
        lines = []
        for skill_id in self.enabled():
            bout = await self.bout(int(step), skill_id, progress[skill_id].training_level,
                                   ctx.config.sparring.round_problems, kind="round")
            lines.append(bout.line)
        return "; ".join(lines) or "no enabled skill"

    async def round_due(self, ctx: DaemonContext) -> bool:
        return ctx.config.sparring.enabled and self.node.status == "up"

    def enabled(self) -> list[str]:
        return [s for s in sorted(self.skills) if (p := self.ctx.config.curriculum.skills.get(s)) is None or p.enabled]

    async def on_demand(self, p: SparRequest) -> dict[str, Any]:
        """`realm spar` and the Vault: a chosen checkpoint (default: the deployed champion, else the
        newest), skill (default: the one it trained, else the first enabled), level and count."""
        ctx = self.ctx
        step = p.step if p.step is not None else await ctx.store.meta.deployed_step()
        row = await ctx.store.checkpoints.get(int(step)) if step is not None else await ctx.store.checkpoints.newest()
        if row is None:
            what = f"checkpoint-{p.step}" if p.step is not None else "a checkpoint"
            raise UserFacingError(f"there is no {what} in the vault to spar with",
                                  fix="pick a step from `realm vault list` (or wait for the first checkpoint)")
        if row.deleted_at is not None:  # ask the vault first: a storage zone or the node may hold it
            await fetch_to_trainer(ctx, row, why="to spar with it")
            row = await ctx.store.checkpoints.get(row.step) or row
        if self.node.status != "up":
            raise UserFacingError(f"the inference node is {self.node.status}", fix="see `realm status` and logs/node.log")
        skill_id = p.skill or (await self.pick_skill(row) or (None, 0))[0]
        if skill_id not in self.skills:
            raise UserFacingError(f"unknown skill {skill_id!r}", fix=f"use one of: {', '.join(sorted(self.skills))}")
        progress, _ = await skill_progress(ctx.store, self.skills, ctx.config.game)
        level = p.level or progress[skill_id].training_level
        check_level(self.skills[skill_id], skill_id, level)
        await self.node.ensure_available_step(row)
        bout = await self.bout(row.step, skill_id, level, p.count or ctx.config.sparring.problems, kind="on demand")
        return {**bout.__dict__, "line": bout.line}

    async def spar(self, step: int, skill: Skill, problems: list[Problem], fresh: list[Problem]) -> tuple[list[dict], int]:
        client = self.node.client(timeout_s=300.0)
        model_id = model_id_for(step)
        examples, wrong = [], 0
        try:
            await client.load(model_id)
            answers, _ = await client.chat_batch(model_id, [[m.model_dump() for m in p.messages] for p in problems],
                                                 max_tokens=self.ctx.config.evaluation.max_new_tokens)
            for problem, other, answer in zip(problems, fresh, answers):
                if (await asyncio.to_thread(skill.grade, problem, answer)).correct:
                    continue
                wrong += 1
                issues = await asyncio.to_thread(validate_sparring, skill, problem, answer.strip(), other)
                if issues:
                    log.info("sparring example skipped: %s", "; ".join(issues))
                    continue
                examples += sparring_examples(problem, answer.strip(), other)
        finally:
            await client.aclose()
        return examples, wrong

    async def enqueue(self, examples: list[dict], skill_id: str, level: int, seed: int, step: int) -> int:
        path = self.ctx.slot.run_dir / "sparring" / f"sparring-{skill_id}-L{level:02d}-step{step}-s{seed}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = QuestMeta(schema="chat_sft_v1", generator_id=GENERATOR_ID, generator_version=GENERATOR_VERSION,
                         skill=skill_id, level=level, seed=seed, count=len(examples), checkpoint_step=step)
        await asyncio.to_thread(atomic_write_text, meta_path_for(path), meta.dump())
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
        await asyncio.to_thread(atomic_write_text, path, text)
        return await self.pipeline.take(path, source="sparring", priority="high")

    async def drop_stale(self) -> int:
        newest = await self.ctx.store.checkpoints.newest()
        if newest is None:
            return 0
        dropped = 0
        for quest in await self.ctx.store.quests.in_state("queued"):
            if quest.source != "sparring":
                continue
            side = await asyncio.to_thread(load_sidecar, self.ctx.slot.root / quest.path)
            made_at = side.meta.checkpoint_step if side and side.meta else None
            if made_at is not None and newest.step - made_at > self.ctx.config.sparring.max_age_steps:
                await self.pipeline.move_to(quest, "deleted")
                await self.ctx.event(EventKind.SPARRING_DROPPED, {"quest_id": quest.id, "name": quest.name,
                                                                  "age_steps": newest.step - made_at})
                dropped += 1
        return dropped

    def task(self) -> Task:
        return Task("sparring", 40, 60.0, "inference", self.run, due=self.due,
                    when="every sparring.every_steps steps, on the newest evaluated checkpoint")

    def round_task(self) -> Task:
        return Task("sparring_round", 8, lambda ctx: ctx.config.sparring.round_every_h * 3600, "host",
                    self.champion_round, due=self.round_due,
                    when="daily (sparring.round_every_h): sparring.round_problems per skill against the champion")

    def register(self, dispatcher: Dispatcher) -> None:
        async def handle(ctx: DaemonContext, p: SparRequest) -> dict[str, Any]:
            return await self.on_demand(p)

        dispatcher.register(CommandKind.SPAR, handle, background=True)

