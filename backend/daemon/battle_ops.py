"""Battle commands: pause, resume, stop (checkpoint and rest), checkpoint now."""

from __future__ import annotations

from typing import Any

from backend.command_kinds import CommandKind
from backend.daemon.battle import BattleLoop
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.errors import UserFacingError
from backend.event_kinds import EventKind


def make_handlers(battle: BattleLoop) -> dict[str, Any]:
    async def pause(ctx: DaemonContext, _p: Any) -> dict[str, Any]:
        ctx.state.paused = True
        sent = await battle.send("pause")
        if not sent:  # nothing running: battles simply do not start
            await ctx.event(EventKind.BATTLE_PAUSED, {"quest_id": None})
        return {"paused": True, "battle": sent}

    async def resume(ctx: DaemonContext, _p: Any) -> dict[str, Any]:
        ctx.state.paused = False
        sent = False if ctx.state.disk_paused else await battle.send("resume")
        if not sent:
            await ctx.event(EventKind.BATTLE_RESUMED, {"quest_id": None})
        ctx.state.wake.set()
        return {"paused": False, "battle": sent, "disk_low": ctx.state.disk_paused}

    async def stop(ctx: DaemonContext, _p: Any) -> dict[str, Any]:
        if battle.engine is None:
            raise UserFacingError("no battle is running")
        ctx.state.paused = True
        battle.player_stopped = True
        await battle.send("stop")
        return {"stopped": True, "quest_id": battle.quest.id if battle.quest else None}

    async def checkpoint(ctx: DaemonContext, _p: Any) -> dict[str, Any]:
        if not await battle.send("checkpoint"):
            raise UserFacingError("no battle is running, so there is nothing new to save")
        return {"requested": True}

    return {CommandKind.PAUSE: pause, CommandKind.RESUME: resume,
            CommandKind.STOP_BATTLE: stop, CommandKind.CHECKPOINT_NOW: checkpoint}


def register_battle_ops(dispatcher: Dispatcher, battle: BattleLoop) -> None:
    for kind, handler in make_handlers(battle).items():
        dispatcher.register(kind, handler)
