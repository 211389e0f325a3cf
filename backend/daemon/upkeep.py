"""Bookkeeping tasks: database backups and retention of checkpoints."""

from __future__ import annotations

import asyncio
import shutil
import time

from backend.daemon.context import DaemonContext
from backend.daemon.quest_tests import steps_awaiting_tests
from backend.daemon.retention import choose_deletions, choose_thinning
from backend.daemon.taskmaster import Task
from backend.event_kinds import EventKind
from backend.store.checkpoints import CheckpointRow
from backend.store.integrity import backup_online
from backend.vault.ranking import scores
from backend.vault.zones import TRAINER
from contracts.checkpoint import LedgerError, read_ledger, thin_checkpoint


async def backup_database(ctx: DaemonContext) -> str:
    path = await asyncio.to_thread(backup_online, ctx.slot.db_path, ctx.slot.backups_dir, ctx.config.daemon.backups_keep)
    return f"backup {path.name}"


async def apply_retention(ctx: DaemonContext) -> str:
    rows = await ctx.store.checkpoints.live()
    protected = await protected_steps(ctx)
    doomed = choose_deletions(rows, await scores(ctx.store), keep_last=ctx.config.retention.keep_last,
                              keep_best=ctx.config.retention.keep_best, protected=protected)
    for row in doomed:
        await asyncio.to_thread(shutil.rmtree, row.folder(ctx.slot.root), True)
        await ctx.store.checkpoints.update(row.step, deleted_at=time.time())
        await ctx.store.catalog.drop_copy(row.name, TRAINER)
        elsewhere = [c.zone for c in await ctx.store.catalog.copies(row.name) if c.state == "ok"]
        await ctx.event(EventKind.CHECKPOINT_DELETED, {"step": row.step, "name": row.name, "reason": "retention",
                                                       "kept_in": elsewhere})
    gone = {r.step for r in doomed}
    thinned, freed = await thin_resume_states(ctx, [r for r in rows if r.step not in gone])
    lean = f", {thinned} thinned to their weights ({freed / 1e6:.1f} MB freed)" if thinned else ""
    return f"{len(doomed)} checkpoint(s) removed, {len(rows) - len(doomed)} kept{lean}"


async def thin_resume_states(ctx: DaemonContext, rows: list[CheckpointRow]) -> tuple[int, int]:
    """Lean checkpoints: the resume state of all but the newest retention.resume_states_kept and
    the pinned ones is removed; the ledger on disk and in the database says so. (count, bytes)."""
    pinned = {r.step for r in rows if r.pinned}
    count = freed = 0
    for row in choose_thinning(rows, keep_newest=ctx.config.retention.resume_states_kept, pinned=pinned):
        folder = row.folder(ctx.slot.root)
        try:
            freed += await asyncio.to_thread(thin_checkpoint, folder)
            ledger = await asyncio.to_thread(read_ledger, folder)
        except (OSError, LedgerError) as exc:
            await ctx.event(EventKind.WARNING, {"source": "vault", "code": "thinning_failed",
                                                "message": f"{row.name}: its resume state could not be removed ({exc})"})
            continue
        size = sum(d.size for d in ledger.files.values())
        await ctx.store.checkpoints.update(row.step, ledger=ledger.model_dump(mode="json", exclude={"files"}),
                                           size_bytes=size)
        count += 1
    return count, freed


async def protected_steps(ctx: DaemonContext) -> set[int]:
    """Champion, deployed and pinned checkpoints are never removed by retention, nor one that
    trained a player's quest until that quest has been tested."""
    meta = ctx.store.meta
    steps = {s for s in (await meta.champion_step(), await meta.deployed_step()) if s is not None}
    rows = await ctx.store.fetchall("SELECT step FROM checkpoints WHERE pinned = 1 AND deleted_at IS NULL")
    return steps | {r[0] for r in rows} | await steps_awaiting_tests(ctx)


def upkeep_tasks() -> list[Task]:
    return [
        Task("database_backup", 10, lambda ctx: ctx.config.daemon.backup_every_min * 60, "light", backup_database,
             when="every daemon.backup_every_min minutes: an online copy of the database"),
        Task("retention", 20, 30.0, "light", apply_retention,
             when="every 30 s: checkpoints beyond retention.keep_last / keep_best are removed, and all but the "
                  "newest retention.resume_states_kept are thinned to their weights"),
    ]
