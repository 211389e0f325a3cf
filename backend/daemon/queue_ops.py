"""Queue commands: add, generate, change priority, delete (to quests/deleted/), retry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from backend.command_kinds import CommandKind, QuestAdd, QuestPriority, QuestRef
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.pipeline import QuestPipeline
from backend.errors import UserFacingError
from backend.event_kinds import EventKind
from backend.quest_add import check_intake
from backend.store.quests import Quest


async def quest_or_error(ctx: DaemonContext, quest_id: int) -> Quest:
    quest = await ctx.store.quests.get(quest_id)
    if quest is None:
        raise UserFacingError(f"there is no quest #{quest_id}", fix="see `realm quest list` for quest numbers")
    return quest


def make_handlers(pipeline: QuestPipeline) -> dict[str, Any]:
    async def add(ctx: DaemonContext, p: QuestAdd) -> dict[str, Any]:
        src = Path(p.path)
        check_intake(ctx.slot, src)
        quest_id = await pipeline.take(src, source="player", priority=p.priority)
        return {"quest_id": quest_id}

    async def priority(ctx: DaemonContext, p: QuestPriority) -> dict[str, Any]:
        quest = await quest_or_error(ctx, p.quest_id)
        if quest.state not in ("queued", "validating", "failed"):
            raise UserFacingError(f"quest #{quest.id} is {quest.state}; only waiting quests change priority")
        await ctx.store.quests.update(quest.id, priority=p.priority)
        await ctx.event(EventKind.QUEST_PRIORITY, {"quest_id": quest.id, "name": quest.name, "priority": p.priority})
        return {"quest_id": quest.id, "priority": p.priority}

    async def delete(ctx: DaemonContext, p: QuestRef) -> dict[str, Any]:
        quest = await quest_or_error(ctx, p.quest_id)
        if quest.state == "processing":
            raise UserFacingError(f"quest #{quest.id} is being trained", fix="stop the battle first (x in the TUI, or `realm battle stop`)")
        if quest.state == "deleted":
            raise UserFacingError(f"quest #{quest.id} is already deleted", where=quest.path)
        if quest.state == "validating":
            raise UserFacingError(f"quest #{quest.id} is being validated", fix="try again in a moment")
        dest = await pipeline.move_to(quest, "deleted")
        rel = str(dest.relative_to(ctx.slot.root))
        await ctx.event(EventKind.QUEST_DELETED, {"quest_id": quest.id, "name": quest.name, "moved_to": rel})
        return {"quest_id": quest.id, "moved_to": rel}

    async def retry(ctx: DaemonContext, p: QuestRef) -> dict[str, Any]:
        quest = await quest_or_error(ctx, p.quest_id)
        if quest.state != "failed":
            raise UserFacingError(f"quest #{quest.id} is {quest.state}; only failed quests are retried")
        await pipeline.move_to(quest, "validating", fail_reason=None, attempts=0, finished_at=None, queued_at=time.time())
        await ctx.event(EventKind.QUEST_RETRIED, {"quest_id": quest.id, "name": quest.name})
        pipeline.to_validate.put_nowait(quest.id)
        return {"quest_id": quest.id}

    return {
        CommandKind.QUEST_ADD: add,
        CommandKind.QUEST_PRIORITY: priority,
        CommandKind.QUEST_DELETE: delete,
        CommandKind.QUEST_RETRY: retry,
    }


def register_queue_ops(dispatcher: Dispatcher, pipeline: QuestPipeline) -> None:
    for kind, handler in make_handlers(pipeline).items():
        dispatcher.register(kind, handler)
