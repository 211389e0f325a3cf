"""Zones in the daemon: push a checkpoint to a storage zone, pull it back, verify every copy,
fetch a checkpoint that retention removed from the trainer when something asks for it (ask the
vault first), and keep each storage zone's policy (every champion and pinned checkpoint, or all)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from backend.command_kinds import CommandKind, StepZone, ZoneRef
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.jobs import ledger_facts
from backend.daemon.taskmaster import Task
from backend.errors import UserFacingError
from backend.event_kinds import EventKind
from backend.store.checkpoints import CheckpointRow
from backend.http_client import ServiceError
from backend.oracle import OracleClient
from backend.vault.node_pull import pull_from_node
from backend.vault.transfer import Progress, TransferError, copy_checkpoint, verify_copy
from backend.vault.zones import NODE, TRAINER, StorageZone, storage_zone, storage_zones
from contracts.checkpoint import LedgerError, check_checkpoint, parse_checkpoint_name, read_ledger
from contracts.fsutil import folder_size
from contracts.node_api import model_id_for

PROGRESS_EVERY = 0.25  # a transfer event at every quarter


async def known_checkpoint(ctx: DaemonContext, step: int) -> CheckpointRow:
    """A checkpoint the vault knows, on the trainer or not."""
    row = await ctx.store.checkpoints.get(step)
    if row is None:
        raise UserFacingError(f"checkpoint-{step} is not in the vault", fix="`realm vault list` shows what there is")
    return row


async def catalogue(ctx: DaemonContext, row: CheckpointRow) -> None:
    await ctx.store.catalog.register(row.name, row.path, row.weights_sha256, row.size_bytes)


def on_trainer(ctx: DaemonContext, row: CheckpointRow) -> bool:
    return row.deleted_at is None and not check_checkpoint(row.folder(ctx.slot.root))


async def transfer(ctx: DaemonContext, row: CheckpointRow, source: Path, dest_root: Path, zone: str,
                   direction: str, why: str = "") -> Path:
    """copy_checkpoint in a thread, with a transfer event at each quarter and at the end."""
    return await moved(ctx, row, zone, direction, why,
                       lambda progress: asyncio.to_thread(copy_checkpoint, source, dest_root, progress))


async def moved(ctx: DaemonContext, row: CheckpointRow, zone: str, direction: str, why: str,
                move: Callable[[Progress], Awaitable[Path]]) -> Path:
    """Run `move` (a copy into or out of a zone) with a transfer event at each quarter and at the end."""
    loop = asyncio.get_running_loop()
    marks = {"next": PROGRESS_EVERY}
    base = {"step": row.step, "name": row.name, "zone": zone, "direction": direction, "why": why}

    def progress(done: int, total: int) -> None:
        if total and done / total >= marks["next"] and done < total:
            marks["next"] = (int(done / total / PROGRESS_EVERY) + 1) * PROGRESS_EVERY
            payload = {**base, "done_bytes": done, "total_bytes": total, "finished": False}
            # from a worker thread (a copy) or the loop itself (a download): thread-safe either way
            asyncio.run_coroutine_threadsafe(ctx.event(EventKind.CHECKPOINT_TRANSFER, payload), loop)

    started = time.monotonic()
    try:
        dest = await move(progress)
    except (TransferError, ServiceError, OSError, LedgerError, ValueError) as exc:
        raise UserFacingError(f"copying {row.name} {'to' if direction == 'push' else 'from'} {zone} failed: {exc}",
                              fix="run the same command again: a transfer goes on from what it had copied") from exc
    size = folder_size(dest)
    await ctx.event(EventKind.CHECKPOINT_TRANSFER, {**base, "done_bytes": size, "total_bytes": size, "finished": True,
                                                    "seconds": round(time.monotonic() - started, 2)})
    return dest


async def pull_node(ctx: DaemonContext, row: CheckpointRow, why: str) -> dict[str, Any]:
    """The remote node's serving copy back onto the trainer: weights only (a node has no resume
    state), verified file by file."""
    if ctx.config.hosts.inference.url == "local":
        raise UserFacingError("the local node reads the trainer's own checkpoints folder: it holds no copy to pull",
                              fix="pull from a storage zone (`realm vault locate STEP` says which)")
    model_id = model_id_for(row.step)
    client = OracleClient.from_config(ctx.slot, ctx.config)
    try:
        if model_id not in await client.available():
            raise UserFacingError(f"the inference node holds no copy of {row.name}")
        dest = await moved(ctx, row, NODE, "pull", why, lambda progress: pull_from_node(
            client, model_id, ctx.slot.checkpoints_dir, row.weights_sha256, progress))
    finally:
        await client.aclose()
    await back_on_trainer(ctx, row, dest)
    return {"step": row.step, "zone": NODE, "path": str(dest), "weights_only": True}


async def back_on_trainer(ctx: DaemonContext, row: CheckpointRow, dest: Path) -> None:
    """A pulled copy is the vault's row again, with the facts of the ledger it came with (a
    storage copy may hold a resume state that the trainer's had thinned since, a node's never
    does); retention leaves it alone a while (ctx.state.fetched_at)."""
    facts = ledger_facts(await asyncio.to_thread(read_ledger, dest))
    rel = str(dest.relative_to(ctx.slot.root))
    await ctx.store.checkpoints.update(row.step, deleted_at=None, path=rel, ledger=facts["ledger"],
                                       size_bytes=facts["size_bytes"])
    await catalogue(ctx, row)
    await ctx.store.catalog.put_copy(row.name, TRAINER, rel, facts["size_bytes"])
    ctx.state.fetched_at[row.step] = time.monotonic()


async def push(ctx: DaemonContext, step: int, zone_name: str) -> dict[str, Any]:
    zone = storage_zone(ctx.config, zone_name)
    row = await known_checkpoint(ctx, step)
    if not on_trainer(ctx, row):
        raise UserFacingError(f"{row.name} is not on the trainer, so it cannot be pushed",
                              fix=f"`realm vault locate {step}` says where its copies are")
    await catalogue(ctx, row)
    dest = await transfer(ctx, row, row.folder(ctx.slot.root), zone.root, zone.name, "push")
    size = folder_size(dest)
    await ctx.store.catalog.put_copy(row.name, zone.name, str(dest), size)
    await ctx.store.catalog.put_copy(row.name, TRAINER, row.path, row.size_bytes)
    return {"step": step, "zone": zone.name, "path": str(dest), "size_bytes": size}


async def pull(ctx: DaemonContext, step: int, zone_name: str, why: str = "") -> dict[str, Any]:
    """The zone's copy back into the trainer's checkpoints folder, verified file by file (`node`:
    the remote inference node's serving copy)."""
    row = await known_checkpoint(ctx, step)
    if on_trainer(ctx, row):
        return {"step": step, "zone": zone_name, "path": str(row.folder(ctx.slot.root)), "already": True}
    if zone_name == NODE:
        return await pull_node(ctx, row, why)
    zone = storage_zone(ctx.config, zone_name)
    source = zone.folder(row.name)
    problems = await asyncio.to_thread(verify_copy, source, row.weights_sha256)
    if problems:
        await ctx.store.catalog.put_copy(row.name, zone.name, str(source), None,
                                         state="missing" if not source.is_dir() else "corrupt")
        raise UserFacingError(f"the copy of {row.name} in {zone.name} is not sound: {'; '.join(problems[:2])}",
                              fix="it is never served; `realm vault locate` shows the other copies")
    await catalogue(ctx, row)
    dest = await transfer(ctx, row, source, ctx.slot.checkpoints_dir, zone.name, "pull", why)
    await back_on_trainer(ctx, row, dest)
    return {"step": step, "zone": zone.name, "path": str(dest)}


async def fetch_to_trainer(ctx: DaemonContext, row: CheckpointRow, why: str) -> tuple[Path, str]:
    """Ask the vault first: the checkpoint's folder on the trainer, pulled from the first storage
    zone whose copy is sound when retention removed it. (folder, zone it came from)."""
    if on_trainer(ctx, row):
        return row.folder(ctx.slot.root), TRAINER
    tried = []
    copies = {c.zone: c for c in await ctx.store.catalog.copies(row.name)}
    zones = sorted(storage_zones(ctx.config).values(), key=lambda z: (z.name not in copies, z.name))
    for zone in zones:
        if not zone.folder(row.name).is_dir():
            continue
        try:
            out = await pull(ctx, row.step, zone.name, why)
        except UserFacingError as exc:
            tried.append(str(exc))
            continue
        return Path(out["path"]), zone.name
    if ctx.config.hosts.inference.url != "local":
        try:
            out = await pull_node(ctx, row, why)
            return Path(out["path"]), NODE
        except UserFacingError as exc:
            tried.append(str(exc))
    detail = f" ({'; '.join(tried)})" if tried else ""
    raise UserFacingError(f"{row.name} is not on the trainer and no storage zone holds a sound copy{detail}",
                          fix="retention removed it; pin the checkpoints you want to keep (`realm vault pin STEP`)")


async def verify(ctx: DaemonContext, zone_name: str | None) -> dict[str, Any]:
    """Re-hash every copy in the zone (or in every zone); the catalog records each one's state.
    A corrupt copy is never pulled or served."""
    zones = [zone_name] if zone_name else [TRAINER, *storage_zones(ctx.config)]
    report: dict[str, Any] = {}
    for name in zones:
        report[name] = await (verify_trainer(ctx) if name == TRAINER else verify_storage(ctx, storage_zone(ctx.config, name)))
        bad = report[name]["corrupt"] + report[name]["missing"]
        if bad:
            await ctx.event(EventKind.WARNING, {"source": "vault", "code": "copies_not_sound", "message":
                            f"{name}: {len(bad)} copies are missing or corrupt ({', '.join(bad[:3])}); they are never "
                            "served. `realm vault locate STEP` shows the sound ones"})
    parts = []
    for name, r in report.items():
        counts = ", ".join(f"{len(r[k])} {k}" for k in ("ok", "corrupt", "missing", "unknown") if r.get(k))
        bad = r["corrupt"] + r["missing"]
        parts.append(f"{name}: {counts or 'nothing there'}" + (f" ({', '.join(bad[:3])})" if bad else ""))
    return {**report, "summary": "; ".join(parts)}


async def verify_trainer(ctx: DaemonContext) -> dict[str, Any]:
    ok, corrupt, missing = [], [], []
    for row in await ctx.store.checkpoints.live():
        folder = row.folder(ctx.slot.root)
        problems = await asyncio.to_thread(verify_copy, folder, row.weights_sha256)
        state = "ok" if not problems else "missing" if not folder.is_dir() else "corrupt"
        {"ok": ok, "corrupt": corrupt, "missing": missing}[state].append(row.name)
        await catalogue(ctx, row)
        await ctx.store.catalog.put_copy(row.name, TRAINER, row.path, row.size_bytes, state=state)
    return {"ok": ok, "corrupt": corrupt, "missing": missing}


async def verify_storage(ctx: DaemonContext, zone: StorageZone) -> dict[str, Any]:
    """The catalog's copies in the zone and the checkpoint folders found there (scan)."""
    ok, corrupt, missing, unknown = [], [], [], []
    listed = await ctx.store.catalog.in_zone(zone.name)
    found = await asyncio.to_thread(lambda: {p.name for p in zone.root.iterdir() if parse_checkpoint_name(p.name)}
                                    if zone.root.is_dir() else set())
    for name in sorted(set(listed) | found):
        row = await adopt(ctx, zone, name)
        if row is None:
            unknown.append(name)
            continue
        problems = await asyncio.to_thread(verify_copy, zone.folder(name), row.weights_sha256)
        state = "ok" if not problems else "missing" if not zone.folder(name).is_dir() else "corrupt"
        {"ok": ok, "corrupt": corrupt, "missing": missing}[state].append(name)
        await catalogue(ctx, row)
        await ctx.store.catalog.put_copy(name, zone.name, str(zone.folder(name)), row.size_bytes, state=state)
    return {"ok": ok, "corrupt": corrupt, "missing": missing, "unknown": unknown}


async def adopt(ctx: DaemonContext, zone: StorageZone, name: str) -> CheckpointRow | None:
    """The vault's row of the checkpoint folder `name` in the zone; a folder the save does not list
    (lost with a restored database) is recorded from its ledger, as gone from the trainer, so it
    can be pulled. None: not this save's checkpoint (its step is another checkpoint's here)."""
    parsed = parse_checkpoint_name(name)
    if parsed is None:
        return None
    row = await ctx.store.checkpoints.get(parsed.step)
    if row is None and zone.folder(name).is_dir() and not check_checkpoint(zone.folder(name)):
        facts = ledger_facts(await asyncio.to_thread(read_ledger, zone.folder(name)))
        await ctx.store.checkpoints.record(parsed.step, name, f"{ctx.slot.checkpoints_dir.name}/{name}",
                                           deleted_at=time.time(), **facts)
        row = await ctx.store.checkpoints.get(parsed.step)
    return row if row is not None and row.name == name else None


async def scan_storage(ctx: DaemonContext) -> tuple[int, int]:
    """Checkpoint folders in the storage zones that the catalog does not know yet: recorded with
    their ledgers (sizes checked; `verify` re-hashes). (copies added, folders not this save's)."""
    added = foreign = 0
    for zone in storage_zones(ctx.config).values():
        if not zone.root.is_dir():
            continue
        held = await ctx.store.catalog.in_zone(zone.name)
        for folder in await asyncio.to_thread(lambda root=zone.root: sorted(root.iterdir())):
            if folder.name in held or parse_checkpoint_name(folder.name) is None:
                continue
            row = await adopt(ctx, zone, folder.name)
            if row is None or check_checkpoint(folder):
                foreign += 1
                continue
            await catalogue(ctx, row)
            await ctx.store.catalog.put_copy(row.name, zone.name, str(folder), row.size_bytes)
            added += 1
    return added, foreign


async def wanted_in(ctx: DaemonContext, zone: StorageZone) -> list[CheckpointRow]:
    """What the zone's policy keeps: every champion ever crowned and every pinned checkpoint
    (keep: champions), or every checkpoint (keep: all); only those still on the trainer can go."""
    live = await ctx.store.checkpoints.live()
    if zone.keep == "all":
        return live
    rows = await ctx.store.fetchall("SELECT DISTINCT json_extract(payload, '$.step') FROM events WHERE kind = ?",
                                    (EventKind.CHAMPION,))
    champions = {int(r[0]) for r in rows if r[0] is not None}
    current = await ctx.store.meta.champion_step()
    if current is not None:
        champions.add(current)
    return [r for r in live if r.step in champions or r.pinned]


async def awaiting_storage(ctx: DaemonContext) -> set[int]:
    """Steps a storage zone's policy wants and does not hold yet: retention keeps them until pushed."""
    steps: set[int] = set()
    for zone in storage_zones(ctx.config).values():
        held = await ctx.store.catalog.in_zone(zone.name)
        steps |= {r.step for r in await wanted_in(ctx, zone) if not (r.name in held and held[r.name].state == "ok")}
    return steps


async def storage_sync(ctx: DaemonContext) -> str:
    """Each storage zone gets what its policy keeps and does not hold yet."""
    zones = storage_zones(ctx.config)
    if not zones:
        return "no storage zone (hosts.storage)"
    pushed, failed = 0, []
    for zone in zones.values():
        held = await ctx.store.catalog.in_zone(zone.name)
        for row in [r for r in await wanted_in(ctx, zone) if not (r.name in held and held[r.name].state == "ok")][:1]:
            try:  # one copy per zone and run, so the task loop (retention, backups ...) is never held for long
                await push(ctx, row.step, zone.name)
                pushed += 1
            except (UserFacingError, OSError, LedgerError) as exc:
                failed.append(f"{row.name} to {zone.name}: {exc}")
    if failed:
        await ctx.event(EventKind.WARNING, {"source": "vault", "code": "storage_sync_failed",
                                            "message": f"{len(failed)} copies failed: {failed[0]}"})
    return f"{pushed} pushed to {len(zones)} storage zone(s)" + (f", {len(failed)} failed" if failed else "")


def zone_tasks() -> list[Task]:
    return [Task("storage_sync", 18, 60.0, "light", storage_sync,
                 when="every minute: each storage zone (hosts.storage) gets one more of the checkpoints its policy "
                      "keeps (every champion and pinned one, or all); retention keeps them on the trainer until then")]


def register_zone_ops(dispatcher: Dispatcher) -> None:
    async def on_push(ctx: DaemonContext, p: StepZone) -> dict[str, Any]:
        return await push(ctx, p.step, p.zone)

    async def on_pull(ctx: DaemonContext, p: StepZone) -> dict[str, Any]:
        return await pull(ctx, p.step, p.zone, why="asked for")

    async def on_verify(ctx: DaemonContext, p: ZoneRef) -> dict[str, Any]:
        return await verify(ctx, p.zone)

    dispatcher.register(CommandKind.CHECKPOINT_PUSH, on_push, background=True)
    dispatcher.register(CommandKind.CHECKPOINT_PULL, on_pull, background=True)
    dispatcher.register(CommandKind.VAULT_VERIFY, on_verify, background=True)

