"""A part of the daemon with its own loop."""

from __future__ import annotations

import asyncio

from backend.daemon.context import DaemonContext


class Component:
    name = "component"

    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        """Before any loop runs (recover state left by a previous daemon)."""

    async def run(self, ctx: DaemonContext) -> None:
        """The loop; returns when the daemon stops."""

    async def stop(self) -> None:
        """Called once, in reverse order, when the daemon stops."""

    async def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the daemon stops; True when stopping."""
        try:
            await asyncio.wait_for(self.ctx.state.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def nap(self, seconds: float) -> None:
        """Sleep until `seconds` pass, something wakes the daemon, or it stops."""
        wake, stopping = self.ctx.state.wake, self.ctx.state.stopping
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        wake.clear()
