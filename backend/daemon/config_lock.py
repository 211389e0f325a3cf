"""Locking base model, max length and architecture once the save has trained."""

from __future__ import annotations

from backend.command_kinds import ConfigForced
from backend.config.locks import LOCK_META_KEY, lock_violations, locked_values
from backend.config.problems import ConfigProblem
from backend.daemon.context import DaemonContext
from backend.event_kinds import EventKind


async def ensure_lock(ctx: DaemonContext) -> None:
    """Record the locked values when the first battle starts."""
    values = locked_values(ctx.config)
    if await ctx.store.meta.set_default(LOCK_META_KEY, {"step": ctx.awards.stats.xp, "values": values}):
        await ctx.event(EventKind.CONFIG_LOCKED, {"values": values}, dedupe_key="config_locked")


async def lock_problems(ctx: DaemonContext) -> list[ConfigProblem]:
    return lock_violations(ctx.config, await ctx.store.meta.get(LOCK_META_KEY))


async def apply_forced(ctx: DaemonContext, payload: ConfigForced) -> dict:
    """`realm config set KEY VALUE --force`: move the lock to the new value, on the record."""
    await ctx.reload_config_if_changed()
    lock = await ctx.store.meta.get(LOCK_META_KEY)
    if lock:
        lock["values"] = {**lock.get("values", {}), **locked_values(ctx.config)}
        await ctx.store.meta.set(LOCK_META_KEY, lock)
    await ctx.event(EventKind.CONFIG_FORCED, {"key": payload.key, "old": payload.old, "new": payload.new})
    return {"key": payload.key}
