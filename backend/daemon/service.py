"""The realm daemon: one per save slot, the only writer of game state.

It runs a handful of loops over one DaemonContext: heartbeat, commands, the
inbox, battles, and the task master's background tasks. SIGTERM or SIGINT asks
the battle to checkpoint and stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from backend.config import load_config
from backend.daemon.components import build_components
from backend.daemon.context import DaemonContext
from backend.daemon.control import lock_path
from backend.daemon.lock import DaemonLock
from backend.event_kinds import EventKind
from backend.slot import SaveSlot
from backend.store.integrity import backup_online
from backend.store.recovery import open_checked

log = logging.getLogger("realm.daemon")


class Daemon:
    def __init__(self, slot: SaveSlot) -> None:
        self.slot = slot
        self.lock = DaemonLock(lock_path(slot))
        self.ctx: DaemonContext | None = None

    async def run(self) -> int:
        self.lock.acquire()
        try:
            return await self._run_locked()
        finally:
            self.lock.release()

    async def _run_locked(self) -> int:
        config = load_config(self.slot.config_path)
        self.slot.ensure_layout()
        store, restored = await open_checked(self.slot)
        ctx = self.ctx = DaemonContext(self.slot, store, config)
        self.install_signal_handlers(ctx)
        try:
            await ctx.awards.catch_up()
            components = build_components(ctx)
            for component in components:
                await component.start()
            await ctx.event(EventKind.DAEMON_STARTED, {"pid": ctx.pid, "restored_database": bool(restored)})
            log.info("daemon %s running for %s", ctx.pid, self.slot.root)
            loops = [asyncio.create_task(guard(c.name, c.run, ctx), name=c.name) for c in components]
            await ctx.state.stopping.wait()
            ctx.state.activity = "stopping"
            for component in reversed(components):
                await component.stop()
            await asyncio.wait(loops, timeout=10.0)  # let loops finish what they were writing
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await ctx.event(EventKind.DAEMON_STOPPED, {"pid": ctx.pid, "reason": "stop requested"})
            await self.backup_at_stop(ctx)
            ctx.state.activity = "stopped"
            await ctx.store.heartbeat.beat(ctx.pid, ctx.state.started_at, config.daemon.heartbeat_s, "stopped")
            return 0
        finally:
            await store.close()

    async def backup_at_stop(self, ctx: DaemonContext) -> None:
        """A clean stop leaves a fresh backup, so a restore loses nothing of this session."""
        try:
            path = await asyncio.to_thread(backup_online, self.slot.db_path, self.slot.backups_dir,
                                           ctx.config.daemon.backups_keep)
            log.info("backup at stop: %s", path.name)
        except (OSError, sqlite3.Error) as exc:
            log.warning("no backup at stop: %s", exc)

    def install_signal_handlers(self, ctx: DaemonContext) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, ctx.state.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)  # no terminal to lose


async def guard(name: str, run: Callable[[DaemonContext], Awaitable[Any]], ctx: DaemonContext) -> None:
    """Keep a loop alive through unexpected errors (logged, reported, retried)."""
    delay = 1.0
    while not ctx.state.stopping.is_set():
        try:
            await run(ctx)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one failing loop must not stop training
            log.exception("%s loop failed", name)
            await ctx.event(EventKind.WARNING, {"source": name, "message": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
