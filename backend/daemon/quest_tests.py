"""A player's own quest is tested: once the battle that trained it has saved its checkpoint,
that checkpoint answers a seeded sample of the quest's own lines (did DIO learn what it was
taught?) and the few held-out lines put aside before training (does it generalise?), at
temperature 0 on the inference node. The result is an event (the chronicle, the quest's
details) and the checkpoint is kept by retention until it has been tested.

The held-out split is made when the quest is queued (`split_held_out`): the lines go to
`<file>.heldout.jsonl` and the training copy `<file>.train.jsonl` leaves them out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from backend.daemon.context import DaemonContext
from backend.daemon.jobs import TRAIN_COPY_SUFFIX, training_file
from backend.daemon.node_manager import NodeManager
from backend.daemon.taskmaster import Task
from backend.event_kinds import EventKind
from backend.questgen import atomic_write_text
from backend.quest_probe import HELD_OUT_SUFFIX, Probe, hold_out, probe_of, read_lines, sample_probes, score
from backend.store.quests import Quest
from contracts.node_api import model_id_for

log = logging.getLogger("realm.daemon.quest_tests")
DONE_KEY = "quest_tested:{quest_id}"
GENERATED_SOURCES = ("generator", "sparring")


def is_players(quest: Quest) -> bool:
    """A quest with no skill that the game did not write: it has no evaluation set of its own."""
    return quest.skill is None and quest.source not in GENERATED_SOURCES and quest.generator_id is None


def split_held_out(path: Path, seed: str) -> int:
    """Put a few distinct lines of the quest aside (see quest_probe.hold_out); returns how many."""
    clean = path.with_name(path.name + TRAIN_COPY_SUFFIX)
    lines = read_lines(clean if clean.is_file() else path)
    train, held = hold_out(lines, seed)
    if not held:
        return 0
    atomic_write_text(path.with_name(path.name + HELD_OUT_SUFFIX), "".join(ln + "\n" for ln in held))
    atomic_write_text(clean, "".join(ln + "\n" for ln in train))
    return len(held)


def keep_held_out(path: Path) -> int:
    """After the training copy was written again (a re-validation), leave the held-out lines out
    of it once more; returns how many lines it dropped."""
    held_file = path.with_name(path.name + HELD_OUT_SUFFIX)
    clean = path.with_name(path.name + TRAIN_COPY_SUFFIX)
    if not held_file.is_file():
        return 0
    held = set(read_lines(held_file))
    source = clean if clean.is_file() else path
    lines = read_lines(source)
    kept = [ln for ln in lines if ln not in held]
    if len(kept) != len(lines) or source is path:
        atomic_write_text(clean, "".join(ln + "\n" for ln in kept))
    return len(lines) - len(kept)


async def final_step(ctx: DaemonContext, quest_id: int) -> int | None:
    """The hero's step at the end of the battle that completed the quest (its last checkpoint)."""
    row = await ctx.store.fetchone("SELECT payload FROM events WHERE dedupe_key = ?", (f"quest_completed:{quest_id}",))
    if row is None:
        return None
    step = json.loads(row["payload"]).get("final_step")
    return int(step) if step is not None else None


async def untested(ctx: DaemonContext) -> list[tuple[Quest, int]]:
    """Completed player quests not tested yet, with the step of the checkpoint that trained them."""
    out = []
    for quest in await ctx.store.quests.in_state("completed"):
        if not is_players(quest) or await ctx.store.events.has(DONE_KEY.format(quest_id=quest.id)):
            continue
        step = await final_step(ctx, quest.id)
        if step is not None:
            out.append((quest, step))
    return out


async def steps_awaiting_tests(ctx: DaemonContext) -> set[int]:
    """Checkpoints retention keeps until the player quests they trained have been tested."""
    return {step for _, step in await untested(ctx)}


class QuestTester:
    def __init__(self, ctx: DaemonContext, node: NodeManager) -> None:
        self.ctx = ctx
        self.node = node

    async def due(self, ctx: DaemonContext) -> bool:
        return ctx.config.evaluation.enabled and self.node.status == "up" and bool(await untested(ctx))

    async def run(self, ctx: DaemonContext) -> str:
        pending = await untested(ctx)
        if not pending:
            return "no player quest to test"
        quest, step = pending[0]
        row = await ctx.store.checkpoints.get(step)
        key = DONE_KEY.format(quest_id=quest.id)
        if row is None or row.deleted_at is not None:
            await ctx.event(EventKind.QUEST_TESTED, {"quest_id": quest.id, "name": quest.name, "step": step,
                                                     "skipped": "its checkpoint is gone"}, dedupe_key=key)
            return f"quest #{quest.id}: checkpoint-{step} is gone; not tested"
        path = ctx.slot.root / quest.path
        seen_lines = await asyncio.to_thread(read_lines, training_file(ctx.slot, quest))
        held_path = path.with_name(path.name + HELD_OUT_SUFFIX)
        held_lines = await asyncio.to_thread(read_lines, held_path) if held_path.is_file() else []
        seen = sample_probes(seen_lines, f"{quest.id}|{quest.sha256}")
        held = [p for p in (probe_of(ln) for ln in held_lines) if p is not None]
        folder = row.folder(ctx.slot.root)
        results = await self.ask(step, folder, seen + held)
        payload: dict[str, Any] = {"quest_id": quest.id, "name": quest.name, "step": step,
                                   "seen": score(results[:len(seen)]), "held_out": score(results[len(seen):])}
        await ctx.event(EventKind.QUEST_TESTED, payload, dedupe_key=key)
        s = payload["seen"]
        return f"quest #{quest.id} at checkpoint-{step}: {s['exact']}/{s['total']} sampled lines answered exactly"

    async def ask(self, step: int, folder: Path, probes: list[Probe]) -> list[tuple[Probe, str]]:
        client = self.node.client(timeout_s=300.0)
        model_id = model_id_for(step)
        out = []
        try:
            await self.node.ensure_available(client, model_id, folder)
            await client.load(model_id)
            answers, _ = await client.chat_batch(model_id, [probe.messages for probe in probes],
                                                 max_tokens=self.ctx.config.evaluation.max_new_tokens)
            out = list(zip(probes, answers, strict=True))
        finally:
            await client.aclose()
        return out

    def task(self) -> Task:
        return Task("quest_tests", 45, 5.0, "inference", self.run, due=self.due,
                    when="after a player's quest completed: its checkpoint answers the quest's own lines")
