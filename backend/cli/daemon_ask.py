"""Asking the running daemon for something that takes a while (a sparring bout, a task run
now) and waiting for its answer, with a progress line on stderr."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from backend.cli.common import existing_slot
from backend.commands_client import submit, wait_for
from backend.daemon.control import running_pid
from backend.errors import UserFacingError
from backend.store import Store

PROGRESS_EVERY_S = 5.0


async def ask_daemon(args: argparse.Namespace, kind: str, payload: dict[str, Any], timeout_s: float,
                     waiting: str) -> dict[str, Any]:
    """The command's result; a UserFacingError when the daemon is not running, refuses, or does
    not answer within timeout_s (the request is then still carried out, and its result is kept)."""
    slot = existing_slot(args)
    if not running_pid(slot):
        raise UserFacingError("the daemon is not running", fix=f"start it with `realm daemon start --save {slot.root}`")
    async with await Store.open(slot.db_path) as store:
        command_id = await submit(store, kind, payload, source="cli")
        started = time.monotonic()
        while (command := await wait_for(store, command_id, PROGRESS_EVERY_S, poll_s=0.2)) is None:
            waited = time.monotonic() - started
            if waited > timeout_s:
                raise UserFacingError(f"the daemon has not finished within {timeout_s:.0f} s (command #{command_id})",
                                      fix="it goes on; its result shows in the chronicle and in `realm tasks`")
            print(f"  {waiting}: {waited:.0f} s", file=sys.stderr, flush=True)
    if command.status == "failed":
        raise UserFacingError((command.result or {}).get("error", "the daemon refused the request"))
    return command.result or {}

