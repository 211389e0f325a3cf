"""Helpers of the TUI tests (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

SNAPSHOTS = Path(__file__).with_name("snapshots")
UPDATE_ENV = "REALM_UPDATE_SNAPSHOTS"
UPDATE = os.environ.get(UPDATE_ENV) == "1"
MASK = "«masked»"  # read at import: the autouse fixture clears REALM_* for each test


def make_app(slot, **kwargs):
    from game.realm_app import RealmApp

    kwargs.setdefault("start_daemon", False)
    kwargs.setdefault("poll_s", 3600.0)  # tests drive refreshes themselves (app.refresh_now)
    kwargs.setdefault("environ", {})
    return RealmApp(save=slot.root, **kwargs)


def screen_text(app) -> str:
    """The visible screen as plain text (what a player reads)."""
    width, height = app.size
    console = Console(width=width, height=height, file=open(os.devnull, "w"), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()[:height])


def check_snapshot(app, name: str, masks: Iterable[str] = ()) -> None:
    """Compare the screen with tests/tui/snapshots/<name>.txt (REALM_UPDATE_SNAPSHOTS=1 rewrites it)."""
    text = screen_text(app)
    for pattern in masks:  # a fixed token: the masked text's length (a duration, free space) must not leak either
        text = re.sub(pattern, MASK, text)
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}; run with {UPDATE_ENV}=1 to create it"
    expected = path.read_text(encoding="utf-8").rstrip("\n")
    assert text == expected, f"screen differs from snapshot {path.name} (run with {UPDATE_ENV}=1 to accept):\n{text}"


async def settle(app, pilot) -> None:
    """Booted, refreshed, and every worker done (but those waiting for the daemon to answer a command)."""
    await asyncio.wait_for(app.ready.wait(), 20)
    await app.refresh_now()
    await pilot.pause()
    busy = [w for w in app.workers if w.group != "commands"]
    if busy:  # (an empty list would mean "all of them")
        await app.workers.wait_for_complete(busy)
    await pilot.pause()


async def commands_sent(slot) -> list[tuple[str, dict]]:
    """(kind, payload) of every command in the save's command table, oldest first."""
    from backend.store import Store

    async with await Store.open(slot.db_path) as store:
        rows = await store.fetchall("SELECT id FROM commands ORDER BY id")
        out = []
        for r in rows:
            c = await store.commands.get(r["id"])
            out.append((c.kind, c.payload))
        return out


async def answer_commands(slot, ok: bool = True, result: dict | None = None) -> int:
    """Act as the daemon for the pending commands: claim and finish them."""
    from backend.store import Store

    async with await Store.open(slot.db_path) as store:
        n = 0
        for c in await store.commands.pending():
            if await store.commands.claim(c.id):
                await store.commands.finish(c.id, ok, result if result is not None else ({} if ok else {"error": "refused"}))
                n += 1
        return n


async def press(app, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
    await pilot.pause()


async def wait_until(pilot, condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


class Posted:
    """Every Message the app dispatched, for `app.run_test(message_hook=posted)`: what the app told
    the game (game/messages.py), as a player would have seen it."""

    def __init__(self) -> None:
        self.messages: list = []

    def __call__(self, message) -> None:
        self.messages.append(message)

    def toasts(self) -> list:
        from game.messages import Toasted

        return [m for m in self.messages if isinstance(m, Toasted)]

    def answers(self) -> list:
        from game.messages import CommandAnswered

        return [m for m in self.messages if isinstance(m, CommandAnswered)]
