"""The quest pipeline: take a file in (atomic move, recorded), validate it, and
queue it or fail it with its report. A file is never deleted or lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from backend.daemon.context import DaemonContext
from backend.daemon.moves import free_name, move_with_sidecars, printable, safe_name
from backend.daemon.quest_tests import is_players, split_held_out
from backend.daemon.validate_step import Verdict, run_validation
from backend.event_kinds import EventKind
from backend.store.quests import Quest
from backend.validation import VALIDATOR_NAME, VALIDATOR_VERSION, Issue
from backend.validation.fileguard import FileRejected, check_name

log = logging.getLogger("realm.daemon.pipeline")


def name_problem(path: Path) -> Issue | None:
    try:
        check_name(path)
    except FileRejected as exc:
        return exc.issue
    return None


def file_facts(path: Path) -> dict[str, Any]:
    """sha256 and size of a regular file (None for anything else)."""
    if path.is_symlink() or not path.is_file():
        return {"sha256": None, "size_bytes": None}
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size_bytes": path.stat().st_size}


class QuestPipeline:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.to_validate: asyncio.Queue[int] = asyncio.Queue()

    def abs_path(self, quest: Quest) -> Path:
        return self.ctx.slot.root / quest.path

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.ctx.slot.root))

    async def take(self, src: Path, *, source: str, priority: str = "normal") -> int:
        """Move a file into quests/validating/ under a unique name and record it."""
        store = self.ctx.store
        quest_id = await store.quests.create(printable(src.name), "", state="validating", priority=priority, source=source)
        dest = self.ctx.slot.quest_state_dir("validating") / f"{quest_id:05d}-{safe_name(src.name)}"
        await asyncio.to_thread(move_with_sidecars, src, dest)
        await store.quests.update(quest_id, path=self.rel(dest))
        await self.ctx.event(EventKind.QUEST_ADDED, {"quest_id": quest_id, "name": printable(src.name), "source": source})
        problem = name_problem(src)
        if problem is None:
            self.to_validate.put_nowait(quest_id)
        else:
            await self.reject_name(quest_id, problem)
        return quest_id

    async def reject_name(self, quest_id: int, problem: Issue) -> None:
        """The stored file name is made safe, so the original name is judged at intake."""
        quest = await self.ctx.store.quests.get(quest_id)
        reason = f"{problem.message} — fix: {problem.fix}"
        await self.ctx.store.lineage.record("validator", VALIDATOR_NAME, VALIDATOR_VERSION, passed=False, lines_total=0,
                                            lines_bad=0, reasons={problem.code: 1}, file=quest.name)
        await self.move_to(quest, "failed", fail_reason=reason, finished_at=time.time(),
                           validation={"verdict": "reject", "file_errors": [problem.model_dump()], "summary": reason})
        await self.ctx.event(EventKind.QUEST_FAILED, {"quest_id": quest.id, "name": quest.name, "reason": reason})

    async def move_to(self, quest: Quest, state: str, **changes: Any) -> Path:
        """Move the quest's file (and sidecars) to the state's folder and record it. A file of the
        same name already there (left by an earlier life of the save) is never overwritten: this
        one takes a free name beside it."""
        src = self.abs_path(quest)
        dest = self.ctx.slot.quest_state_dir(state) / src.name
        if src != dest:
            free = free_name(dest)
            if free != dest:
                log.warning("quest #%d: %s already exists; moving to %s instead", quest.id, dest, free.name)
            dest = free
            await asyncio.to_thread(move_with_sidecars, src, dest)
        await self.ctx.store.quests.update(quest.id, state=state, path=self.rel(dest), **changes)
        return dest

    async def validate(self, quest_id: int) -> None:
        quest = await self.ctx.store.quests.get(quest_id)
        if quest is None or quest.state != "validating":
            return
        path = self.abs_path(quest)
        facts = await asyncio.to_thread(file_facts, path)
        verdict: Verdict = await run_validation(self.ctx, quest, path)
        await self.record_lineage(quest, verdict)
        common = {"validation": verdict.report, "validation_level": verdict.level, "schema": verdict.schema,
                  "skill": verdict.skill, "level": verdict.skill_level, "generator_id": verdict.generator_id,
                  "generator_version": verdict.generator_version, **facts}
        if verdict.accepted:
            if is_players(replace(quest, skill=verdict.skill, generator_id=verdict.generator_id)):
                held = await asyncio.to_thread(split_held_out, path, f"{quest.id}|{facts['sha256']}")
                if held:
                    common["validation"] = {**verdict.report, "held_out": held}
            await self.move_to(quest, "queued", examples=verdict.examples, queued_at=time.time(), **common)
            await self.ctx.event(EventKind.QUEST_QUEUED, {"quest_id": quest.id, "name": quest.name,
                                                         "priority": quest.priority, "examples": verdict.examples})
        else:
            await self.move_to(quest, "failed", fail_reason=verdict.reason, finished_at=time.time(), **common)
            await self.ctx.event(EventKind.QUEST_FAILED, {"quest_id": quest.id, "name": quest.name, "reason": verdict.reason})

    async def record_lineage(self, quest: Quest, verdict: Verdict) -> None:
        lineage = self.ctx.store.lineage
        common = dict(passed=verdict.accepted, lines_total=verdict.lines_total, lines_bad=verdict.lines_bad,
                      reasons=verdict.reason_counts, file=quest.name)
        await lineage.record("validator", verdict.validator_name, verdict.validator_version, **common)
        await lineage.record("generator", verdict.generator_id or "manual", verdict.generator_version or "-", **common)

    async def requeue_validating(self) -> int:
        """After a restart, quests left in 'validating' are validated again."""
        quests = await self.ctx.store.quests.in_state("validating")
        for quest in quests:
            self.to_validate.put_nowait(quest.id)
        return len(quests)

    async def run_validations(self) -> None:
        while not self.ctx.state.stopping.is_set():
            quest_id = await self.to_validate.get()
            try:
                await self.validate(quest_id)
            except Exception:  # noqa: BLE001 - one bad file must not stop the pipeline
                log.exception("validating quest %s failed", quest_id)
                quest = await self.ctx.store.quests.get(quest_id)
                if quest and quest.state == "validating":
                    await self.move_to(quest, "failed", fail_reason="internal error while validating (see logs/daemon.log)")
