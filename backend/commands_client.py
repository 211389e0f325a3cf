"""Submitting commands to the daemon and waiting for their outcome (CLI and TUI)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from backend.command_kinds import parse_payload
from backend.store import Store
from backend.store.commands import Command


async def submit(store: Store, kind: str, payload: dict[str, Any] | None = None, *, source: str) -> int:
    """Validate the payload here, so a typo fails at once and not in the daemon."""
    typed = parse_payload(kind, payload or {})
    return await store.commands.submit(kind, typed.model_dump(), source=source)


async def wait_for(store: Store, command_id: int, timeout_s: float, poll_s: float = 0.1) -> Command | None:
    """The finished command, or None when it is still pending after timeout_s."""
    end = time.monotonic() + timeout_s
    while True:
        command = await store.commands.get(command_id)
        if command and command.status in ("done", "failed"):
            return command
        if time.monotonic() >= end:
            return None
        await asyncio.sleep(poll_s)
