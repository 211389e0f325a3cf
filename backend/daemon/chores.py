"""Bookkeeping tasks of the task master: the health check, re-validation of the queue after
the validator changed, the vault scan and the lineage report. Each returns the one line
that `realm tasks` and the Guild show as its result."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from backend.daemon.checkpoint_scan import scan_checkpoints
from backend.daemon.context import DaemonContext
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.quest_tests import keep_held_out
from backend.daemon.taskmaster import Task
from backend.daemon.zone_ops import scan_storage
from backend.store.catalog import BASE
from backend.vault.zones import TRAINER
from contracts.checkpoint import folder_weights_sha256
from contracts.fsutil import folder_size
from backend.daemon.validate_step import reason_of, validate_sync
from backend.event_kinds import EventKind
from backend.store.integrity import check_integrity
from backend.validation import VALIDATOR_VERSION

GB = 1024**3
LINEAGE_WARN_RATE = 0.2  # a generator or validator failing this share of its files is reported
LINEAGE_MIN_FILES = 5


async def health_check(ctx: DaemonContext, node: Any) -> str:
    """The database's integrity, free disk, the node; a problem is a warning in the chronicle
    (once per problem and day)."""
    problems = []
    ok, detail = await asyncio.to_thread(check_integrity, ctx.slot.db_path)
    if not ok:
        problems.append(("database", f"the database failed its integrity check ({detail}); the daemon restores "
                                     "the newest good backup at its next start"))
    free = shutil.disk_usage(ctx.slot.root).free
    if free < ctx.config.retention.min_free_disk_gb * GB:
        problems.append(("disk", f"{free / GB:.1f} GB free in the save's disk, under retention.min_free_disk_gb "
                                 f"({ctx.config.retention.min_free_disk_gb:g}): free space or lower retention.keep_last"))
    if node.status != "up":
        problems.append(("node", f"the inference node is {node.status}: see logs/node.log"))
    day = int(time.time() // 86_400)
    for what, message in problems:
        await ctx.event(EventKind.WARNING, {"source": "health", "code": f"health_{what}", "message": message},
                        dedupe_key=f"health:{what}:{day}")
    state = "; ".join(m for _, m in problems) or "all well"
    return f"database {'ok' if ok else 'damaged'}, {free / GB:.1f} GB free, node {node.status}: {state}"


async def validate_queue(ctx: DaemonContext, pipeline: QuestPipeline) -> str:
    """Queued quests validated by an older validator are validated again. One that the new rules
    refuse goes to failed with the reason (`realm quest retry` takes it back); one that passes
    keeps its place, with its report, its clean copy and its held-out lines brought up to date."""
    stale = [q for q in await ctx.store.quests.in_state("queued")
             if (q.validation or {}).get("validator_version") not in (None, VALIDATOR_VERSION)]
    refused = 0
    for quest in stale:
        path = pipeline.abs_path(quest)
        report, problem = await asyncio.to_thread(validate_sync, ctx, path)
        if report.accepted and problem is None:
            await asyncio.to_thread(keep_held_out, path)
            held = (quest.validation or {}).get("held_out")
            fresh = report.model_dump(mode="json") | ({"held_out": held} if held else {})
            await ctx.store.quests.update(quest.id, validation=fresh, examples=report.counts.ok)
            continue
        refused += 1
        reason = problem or reason_of(report)
        await pipeline.move_to(quest, "failed", fail_reason=reason, validation=report.model_dump(mode="json"))
        await ctx.event(EventKind.QUEST_FAILED, {"quest_id": quest.id, "name": quest.name,
                                                "reason": f"validated again by validator {VALIDATOR_VERSION}: {reason}"})
    if not stale:
        return f"every queued quest was validated by validator {VALIDATOR_VERSION}"
    return f"{len(stale)} quest(s) validated again by validator {VALIDATOR_VERSION}: {refused} refused"


async def vault_due(ctx: DaemonContext) -> bool:
    return ctx.state.activity != "training"  # an engine may be saving: its folders are not the vault's yet


async def vault_scan(ctx: DaemonContext) -> str:
    """Checkpoint folders the database does not know are recorded with their ledgers; listed
    ones whose folders are gone are marked deleted (as at every daemon start); copies in the
    storage zones that the catalog does not know are registered."""
    out = await scan_checkpoints(ctx, remove_temp=False)
    added, foreign = await scan_storage(ctx)
    await catalogue_base(ctx)
    stored = f"; storage: {added} copies registered" + (f", {foreign} folders not this save's" if foreign else "") \
        if added or foreign else ""
    return (f"{len(out.recorded)} recorded from disk, {len(out.gone)} gone, {len(out.back)} back"
            if out.recorded or out.gone or out.back else "the vault matches the checkpoint folders") + stored


async def catalogue_base(ctx: DaemonContext) -> None:
    """The hero's base model in the catalog, hashed again only when its weight files changed size."""
    base = ctx.slot.base_model_dir
    if not base.is_dir():
        return
    size = await asyncio.to_thread(folder_size, base)
    known = await ctx.store.catalog.asset("base", kind=BASE)
    if known is not None and known["size_bytes"] == size:
        return
    sha = await asyncio.to_thread(folder_weights_sha256, base)
    await ctx.store.catalog.record(BASE, BASE, str(base.relative_to(ctx.slot.root)), sha, size, TRAINER)


async def lineage_report(ctx: DaemonContext) -> str:
    """Fail rates per generator and validator; one failing too often is a warning, once per version."""
    rows = await ctx.store.lineage.all()
    flagged = [r for r in rows if r.validations >= LINEAGE_MIN_FILES and r.fail_rate >= LINEAGE_WARN_RATE]
    for r in flagged:
        top = ", ".join(k for k, _ in sorted(r.reasons.items(), key=lambda kv: -kv[1])[:3]) or "-"
        await ctx.event(EventKind.WARNING, {
            "source": "lineage", "code": "lineage_fail_rate",
            "message": f"{r.kind} {r.name} {r.version} fails {r.fail_rate:.0%} of its {r.validations} files "
                       f"(top reasons: {top}); see `realm lineage`"}, dedupe_key=f"lineage:{r.kind}:{r.name}:{r.version}")
    gens = [r for r in rows if r.kind == "generator"]
    worst = max(rows, key=lambda r: r.fail_rate, default=None)
    tail = f"; worst {worst.kind} {worst.name} {worst.fail_rate:.0%}" if worst else ""
    return f"{len(gens)} generator(s), {len(rows) - len(gens)} validator(s), {len(flagged)} flagged{tail}"


def chore_tasks(node: Any, pipeline: QuestPipeline) -> list[Task]:
    return [
        Task("health_check", 60, 300.0, "light", lambda ctx: health_check(ctx, node),
             when="every 5 minutes: database integrity, free disk, the node"),
        Task("validate_queue", 15, 600.0, "host", lambda ctx: validate_queue(ctx, pipeline),
             when="every 10 minutes: queued quests of an older validator are validated again"),
        Task("vault_scan", 12, 1800.0, "host", vault_scan, due=vault_due,
             when="every 30 minutes between battles: checkpoint folders the save does not list"),
        Task("lineage_report", 5, 3600.0, "light", lineage_report,
             when="hourly: fail rates per generator and validator"),
    ]
