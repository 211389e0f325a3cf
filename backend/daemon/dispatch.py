"""Carrying out commands from the command table, one at a time, in order."""

from __future__ import annotations

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

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def run_pending(self) -> int:
        """Carry out every pending command; return how many ran."""
        store = self.ctx.store
        done = 0
        for command in await store.commands.pending():
            if not await store.commands.claim(command.id):
                continue
            ok, result = await self.carry_out(command.kind, command.payload)
            await store.commands.finish(command.id, ok, result)
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
