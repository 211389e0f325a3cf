"""Polls the command table (cheaply, via PRAGMA data_version) and carries commands out."""

from __future__ import annotations

from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher

POLL_S = 0.2


class CommandLoop(Component):
    name = "commands"

    def __init__(self, ctx: DaemonContext, dispatcher: Dispatcher) -> None:
        super().__init__(ctx)
        self.dispatcher = dispatcher

    async def start(self) -> None:
        await self.ctx.store.commands.recover_running()

    async def run(self, ctx: DaemonContext) -> None:
        await self.dispatcher.run_pending()
        version = await ctx.store.data_version()
        while not ctx.state.stopping.is_set():
            if await self.sleep(POLL_S):
                return
            now = await ctx.store.data_version()
            if now != version:
                version = now
                await self.dispatcher.run_pending()
