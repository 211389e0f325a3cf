"""Bookkeeping tasks: database backups and retention of checkpoints."""

from __future__ import annotations

import asyncio
import shutil
import time

from backend.daemon.context import DaemonContext
from backend.daemon.quest_tests import steps_awaiting_tests
from backend.daemon.jobs import ledger_facts
from backend.daemon.retention import choose_deletions, choose_thinning
from backend.daemon.zone_ops import awaiting_storage
from backend.daemon.taskmaster import Task
from backend.event_kinds import EventKind
from backend.store.catalog import BACKUP
from backend.store.checkpoints import CheckpointRow
from backend.store.integrity import backup_online
from backend.vault.ranking import scores
from backend.vault.zones import TRAINER
from contracts.checkpoint import LedgerError, read_ledger, sha256_file, thin_checkpoint


async def backup_database(ctx: DaemonContext) -> str:
    """An online copy of the database, recorded in the catalog (rotated ones leave it)."""
    path = await asyncio.to_thread(backup_online, ctx.slot.db_path, ctx.slot.backups_dir, ctx.config.daemon.backups_keep)
    sha = await asyncio.to_thread(sha256_file, path)
    await ctx.store.catalog.record(BACKUP, path.name, str(path.relative_to(ctx.slot.root)), sha, path.stat().st_size,
                                   TRAINER)
    for asset in await ctx.store.catalog.all():
        if asset["kind"] == BACKUP and not (ctx.slot.root / asset["path"]).is_file():
            await ctx.store.catalog.forget(BACKUP, asset["name"])
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
    thinned, freed = await thin_resume_states(ctx, [r for r in rows if r.step not in gone], protected)
    lean = f", {thinned} thinned to their weights ({freed / 1e6:.1f} MB freed)" if thinned else ""
    return f"{len(doomed)} checkpoint(s) removed, {len(rows) - len(doomed)} kept{lean}"


async def thin_resume_states(ctx: DaemonContext, rows: list[CheckpointRow], protected: set[int]) -> tuple[int, int]:
    """Lean checkpoints: the resume state of all but the newest retention.resume_states_kept and
    the protected ones (pinned, champion, on the node ...) is removed; the ledger on disk and in
    the database says so, and the first time in a save an event tells the player. (count, bytes)."""
    count = freed = 0
    for row in choose_thinning(rows, keep_newest=ctx.config.retention.resume_states_kept, pinned=protected):
        folder = row.folder(ctx.slot.root)
        try:
            freed += await asyncio.to_thread(thin_checkpoint, folder)
            ledger = await asyncio.to_thread(read_ledger, folder)
        except (OSError, LedgerError) as exc:
            await ctx.event(EventKind.WARNING, {"source": "vault", "code": "thinning_failed",
                                                "message": f"{row.name}: its resume state could not be removed ({exc})"})
            continue
        facts = ledger_facts(ledger)
        await ctx.store.checkpoints.update(row.step, ledger=facts["ledger"], size_bytes=facts["size_bytes"])
        count += 1
    if count:
        kept = ctx.config.retention.resume_states_kept
        await ctx.event(EventKind.WARNING, {
            "source": "vault", "code": "lean_checkpoints", "message":
            f"lean checkpoints: {count} older checkpoint(s) thinned to their weights ({freed / 1e6:.1f} MB freed). "
            f"The newest {kept}, the champion, the deployed, pinned and loaded ones keep their optimizer state; "
            "a thinned one serves, evaluates and exports as before but is never resumed exactly",
            "fix": "retention.resume_states_kept sets how many keep it; pin a checkpoint (k in the Vault) to keep "
                   "its state"}, dedupe_key="lean_checkpoints:first")
    return count, freed


FETCHED_GRACE_S = 600.0  # a checkpoint fetched back from a zone stays this long (it was asked for: an export, a load)


async def protected_steps(ctx: DaemonContext) -> set[int]:
    """Retention never removes nor thins the champion, the deployed checkpoint, pinned ones and
    those loaded on the node (the local node serves the trainer's own files); nor one that
    trained a player's quest until that quest has been tested, one a storage zone still waits
    for, or one just fetched back from a zone."""
    meta = ctx.store.meta
    steps = {s for s in (await meta.champion_step(), await meta.deployed_step()) if s is not None}
    rows = await ctx.store.fetchall("SELECT step FROM checkpoints WHERE (pinned = 1 OR on_node = 1) "
                                    "AND deleted_at IS NULL")
    now = time.monotonic()
    fetched = {s for s, at in ctx.state.fetched_at.items() if now - at < FETCHED_GRACE_S}
    return steps | {r[0] for r in rows} | await steps_awaiting_tests(ctx) | await awaiting_storage(ctx) | fetched


def upkeep_tasks() -> list[Task]:
    return [
        Task("database_backup", 10, lambda ctx: ctx.config.daemon.backup_every_min * 60, "light", backup_database,
             when="every daemon.backup_every_min minutes: an online copy of the database"),
        Task("retention", 20, 30.0, "light", apply_retention,
             when="every 30 s: checkpoints beyond retention.keep_last / keep_best are removed, and all but the "
                  "newest retention.resume_states_kept are thinned to their weights"),
    ]
