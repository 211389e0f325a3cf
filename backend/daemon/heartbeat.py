"""The heartbeat (liveness for every reader) and config reloading."""

from __future__ import annotations

from backend.daemon.component import Component
from backend.daemon.context import DaemonContext


class HeartbeatLoop(Component):
    name = "heartbeat"

    async def run(self, ctx: DaemonContext) -> None:
        while not ctx.state.stopping.is_set():
            await ctx.reload_config_if_changed()
            await self.beat()
            if await self.sleep(ctx.config.daemon.heartbeat_s):
                return

    async def beat(self) -> None:
        ctx = self.ctx
        await ctx.store.heartbeat.beat(
            ctx.pid, ctx.state.started_at, ctx.config.daemon.heartbeat_s, ctx.state.shown,
            "disk low" if ctx.state.disk_paused else "",
        )
