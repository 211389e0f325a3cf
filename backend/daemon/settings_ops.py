"""Commands that change realm.yaml on the player's behalf (curriculum strategy,
per-skill plans), forced config changes, and shutdown."""

from __future__ import annotations

import json
from typing import Any

from backend.command_kinds import CommandKind, ConfigForced, CurriculumSet, SkillPlanSet
from backend.config.edit import set_value
from backend.daemon.config_lock import apply_forced
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.errors import UserFacingError
from backend.event_kinds import EventKind


async def change(ctx: DaemonContext, key: str, value: Any) -> None:
    config, problems = set_value(ctx.slot.config_path, key, json.dumps(value))
    if config is None:
        raise UserFacingError("; ".join(p.render() for p in problems), where=str(ctx.slot.config_path))
    await ctx.reload_config_if_changed()


async def curriculum_set(ctx: DaemonContext, p: CurriculumSet) -> dict[str, Any]:
    if p.strategy == "focus" and not (p.focus or ctx.config.curriculum.focus):
        raise UserFacingError("the focus strategy needs a skill to focus on", fix="give focus=<skill id>")
    changed = {}
    if p.focus is not None:
        await change(ctx, "curriculum.focus", p.focus)
        changed["focus"] = p.focus
    if p.strategy is not None:
        await change(ctx, "curriculum.strategy", p.strategy)
        changed["strategy"] = p.strategy
    await ctx.event(EventKind.PLAN_CHANGED, changed)
    return changed


async def skill_plan(ctx: DaemonContext, p: SkillPlanSet) -> dict[str, Any]:
    changed = {k: v for k, v in p.model_dump().items() if k != "skill" and v is not None}
    if not changed:
        raise UserFacingError("nothing to change", fix="give enabled, weight or priority")
    for key, value in changed.items():
        await change(ctx, f"curriculum.skills.{p.skill}.{key}", value)
    await ctx.event(EventKind.PLAN_CHANGED, {"skill": p.skill, **changed})
    return {"skill": p.skill, **changed}


async def config_forced(ctx: DaemonContext, p: ConfigForced) -> dict[str, Any]:
    return await apply_forced(ctx, p)


async def shutdown(ctx: DaemonContext, _p: Any) -> dict[str, Any]:
    ctx.state.stopping.set()
    return {"stopping": True}


def register_settings_ops(dispatcher: Dispatcher) -> None:
    dispatcher.register(CommandKind.CURRICULUM_SET, curriculum_set)
    dispatcher.register(CommandKind.SKILL_PLAN, skill_plan)
    dispatcher.register(CommandKind.CONFIG_FORCED, config_forced)
    dispatcher.register(CommandKind.SHUTDOWN, shutdown)
