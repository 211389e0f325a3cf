"""Before a save runs out of disk mid-checkpoint, pause the battle with an event;
resume on its own once there is room again."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from backend.daemon.context import DaemonContext
from backend.event_kinds import EventKind

CHECK_EVERY_S = 5.0
GB = 1024**3


def folder_size(path: Any) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


class DiskGuard:
    def __init__(self, ctx: DaemonContext, battle: Any) -> None:
        self.ctx = ctx
        self.battle = battle
        self.last_check = 0.0
        self.checkpoint_bytes: int | None = None

    async def needed_bytes(self) -> int:
        """Twice a checkpoint's size (measured from the newest one), at least min_free_disk_gb."""
        if self.checkpoint_bytes is None:
            newest = await self.ctx.store.checkpoints.newest()
            if newest and newest.size_bytes:
                self.checkpoint_bytes = newest.size_bytes
            else:
                base = self.ctx.slot.base_model_dir
                self.checkpoint_bytes = await asyncio.to_thread(folder_size, base) * 3
        return max(2 * self.checkpoint_bytes, int(self.ctx.config.retention.min_free_disk_gb * GB))

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.ctx.slot.checkpoints_dir).free

    async def on_step(self, _event: Any) -> None:
        now = time.monotonic()
        if now - self.last_check < CHECK_EVERY_S:
            return
        self.last_check = now
        needed, free = await self.needed_bytes(), self.free_bytes()
        if free < needed and not self.ctx.state.disk_paused:
            self.ctx.state.disk_paused = True
            await self.battle.send("pause")
            await self.ctx.event(EventKind.DISK_LOW, {"free_gb": round(free / GB, 2), "needed_gb": round(needed / GB, 2)})
            asyncio.create_task(self.wait_for_room(needed))

    async def wait_for_room(self, needed: int) -> None:
        while self.ctx.state.disk_paused and not self.ctx.state.stopping.is_set():
            await asyncio.sleep(10.0)
            if self.free_bytes() >= needed:
                self.ctx.state.disk_paused = False
                if not self.ctx.state.paused:
                    await self.battle.send("resume")
