"""The event log as the app follows it: new events since the last look, folded
incrementally into the hero's stats (no full replay on every refresh)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from backend.config.model import GameRules
from backend.progression.achievements import load_achievements
from backend.progression.stats import HeroStats, apply_event
from backend.store import Event, Store

BATCH = 5000
KEEP_RECENT = 200
FOLD_IN_THREAD = 500  # a bigger batch (opening a save with a long history) is folded off the event loop


class EventFeed:
    def __init__(self, rules: GameRules) -> None:
        self.stats = HeroStats(rules=rules)
        self.table = load_achievements()
        self.recent: deque[Event] = deque(maxlen=KEEP_RECENT)
        self.last_id = 0

    async def newest_id(self, store: Store) -> int:
        return await store.events.last_id()

    async def pull(self, store: Store, keep_all: bool = False) -> list[Event]:
        """Events after the last pull, folded into `stats`. Returns the new events
        (all of them with keep_all; else at most the last KEEP_RECENT)."""
        out: list[Event] = []
        while True:
            batch = await store.events.since(self.last_id, limit=BATCH)
            if len(batch) > FOLD_IN_THREAD:
                await asyncio.to_thread(self.fold, batch)
            else:
                self.fold(batch)
            if batch:
                self.last_id = batch[-1].id
                self.recent.extend(batch[-KEEP_RECENT:])
                out.extend(batch)
                if not keep_all and len(out) > KEEP_RECENT:
                    out = out[-KEEP_RECENT:]
            if len(batch) < BATCH:
                return out

    def fold(self, events: list[Event]) -> None:
        for event in events:
            apply_event(self.stats, event, self.table)

    def set_rules(self, rules: GameRules) -> None:
        self.stats.rules = rules

    def recent_events(self, n: int) -> list[Event]:
        return list(self.recent)[-n:]


def payload_of(event: Any) -> dict[str, Any]:
    return event.payload if isinstance(event.payload, dict) else {}
