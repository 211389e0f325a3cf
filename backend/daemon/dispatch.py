"""Carrying out commands from the command table, one at a time, in order. A handler
registered as background (a sparring round, a task run now: they talk to the node for
minutes) runs beside the loop, so a pause or a stop is never stuck behind it; its command
is finished when it ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from backend.command_kinds import Payload, parse_payload
from backend.daemon.context import DaemonContext
from backend.errors import UserFacingError

log = logging.getLogger("realm.daemon.commands")

Handler = Callable[[DaemonContext, Any], Awaitable[dict[str, Any] | None]]


class Dispatcher:
    def __init__(self, ctx: DaemonContext) -> None:
        self.ctx = ctx
        self.handlers: dict[str, Handler] = {}
        self.background: set[str] = set()
        self.running: set[asyncio.Task[None]] = set()

    def register(self, kind: str, handler: Handler, background: bool = False) -> None:
        self.handlers[kind] = handler
        if background:
            self.background.add(kind)

    async def finish(self, command_id: int, kind: str, payload: dict[str, Any]) -> None:
        ok, result = await self.carry_out(kind, payload)
        await self.ctx.store.commands.finish(command_id, ok, result)

    async def run_pending(self) -> int:
        """Carry out every pending command; return how many ran."""
        store = self.ctx.store
        done = 0
        for command in await store.commands.pending():
            if not await store.commands.claim(command.id):
                continue
            if command.kind in self.background:
                task = asyncio.create_task(self.finish(command.id, command.kind, command.payload))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            else:
                await self.finish(command.id, command.kind, command.payload)
            done += 1
        return done

    async def carry_out(self, kind: str, raw: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        try:
            payload: Payload = parse_payload(kind, raw)
            handler = self.handlers.get(kind)
            if handler is None:
                raise UserFacingError(f"this daemon cannot carry out {kind!r} yet", fix="upgrade Realm of Training")
            return True, (await handler(self.ctx, payload)) or {}
        except UserFacingError as exc:
            return False, {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bad command must not take the daemon down
            log.exception("command %s failed", kind)
            return False, {"error": f"{type(exc).__name__}: {exc}"}
