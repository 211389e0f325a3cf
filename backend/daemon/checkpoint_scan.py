"""At every daemon start: the checkpoints table agrees with the checkpoint folders on disk.

- A complete checkpoint the table does not know (saved by an engine while its daemon was
  killed, or lost with a restored database) is recorded, with its ledger: it is listed,
  evaluated and under retention like any other, and its steps count as XP again.
- A row whose folder is gone is marked deleted; a row marked deleted whose folder is back
  (a restore) is live again.
- `.tmp-*` folders of saves that never finished (a killed engine) are removed, each with an
  event naming it and its size: they are never resumed from, and on a real rig each is GBs.

Runs while the daemon holds run/engine.lock, so no engine is saving meanwhile.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from backend.daemon.context import DaemonContext
from backend.daemon.jobs import ledger_facts
from backend.event_kinds import EventKind
from backend.fmt import fmt_bytes
from backend.store.rows import now
from contracts.checkpoint import list_complete, stale_temp_folders


@dataclass
class ScanResult:
    recorded: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    back: list[int] = field(default_factory=list)
    removed_temp: list[tuple[str, int]] = field(default_factory=list)  # (folder name, bytes)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def relative(ctx: DaemonContext, path: Path) -> str:
    return str(path.relative_to(ctx.slot.root)) if ctx.slot.root in path.parents else str(path)


async def scan_checkpoints(ctx: DaemonContext, remove_temp: bool = True) -> ScanResult:
    """`remove_temp`: only while no engine can be saving (at start, under run/engine.lock)."""
    out = ScanResult()
    on_disk = await asyncio.to_thread(list_complete, ctx.slot.checkpoints_dir)
    rows = {r["step"]: r for r in await ctx.store.fetchall("SELECT step, path, deleted_at FROM checkpoints")}
    disk_steps = {ledger.step for _, ledger in on_disk}
    for path, ledger in on_disk:
        row = rows.get(ledger.step)
        if row is None:
            facts = ledger_facts(ledger)
            await ctx.store.checkpoints.record(ledger.step, path.name, relative(ctx, path), **facts)
            await ctx.event(EventKind.CHECKPOINT_SAVED, {
                "step": ledger.step, "name": path.name, "train_loss": ledger.train_loss, "val_loss": ledger.val_loss,
                "loss_ema": ledger.resume.loss_ema if ledger.resume else None, "quest_id": facts["quest_id"],
                "skill": ledger.skill, "level": ledger.level, "reason": "found on disk"},
                dedupe_key=f"checkpoint:{ledger.step}")
            out.recorded.append(ledger.step)
        elif row["deleted_at"] is not None:
            await ctx.store.checkpoints.update(ledger.step, deleted_at=None, path=relative(ctx, path))
            out.back.append(ledger.step)
    for step, row in rows.items():
        if row["deleted_at"] is None and step not in disk_steps:
            await ctx.store.checkpoints.update(step, deleted_at=now())
            out.gone.append(step)
    for tmp in stale_temp_folders(ctx.slot.checkpoints_dir) if remove_temp else []:
        size = await asyncio.to_thread(folder_bytes, tmp)
        await asyncio.to_thread(shutil.rmtree, tmp, True)
        out.removed_temp.append((tmp.name, size))
    await report(ctx, out)
    return out


async def report(ctx: DaemonContext, out: ScanResult) -> None:
    def steps(values: list[int]) -> str:
        return ", ".join(str(s) for s in sorted(values)[:8]) + (" ..." if len(values) > 8 else "")

    if out.recorded:
        await ctx.event(EventKind.WARNING, {"source": "vault", "code": "checkpoints_recorded", "message":
            f"recorded {len(out.recorded)} checkpoint(s) found on disk that the save did not list (step "
            f"{steps(out.recorded)}): saved while the daemon was stopped, or lost with a restored database"})
    if out.gone or out.back:
        parts = ([f"{len(out.gone)} listed checkpoint(s) are no longer on disk (step {steps(out.gone)})"]
                 if out.gone else []) + ([f"{len(out.back)} are back on disk (step {steps(out.back)})"]
                                         if out.back else [])
        await ctx.event(EventKind.WARNING, {"source": "vault", "code": "checkpoints_reconciled",
                                            "message": "; ".join(parts)})
    for name, size in out.removed_temp:
        await ctx.event(EventKind.WARNING, {"source": "vault", "code": "temp_checkpoint_removed", "message":
            f"removed {name} ({fmt_bytes(size)}): an unfinished save of an engine that was killed; "
            "it could never be resumed from"})
