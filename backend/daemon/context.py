"""What every part of the daemon shares: the slot, the store, the live config,
the event writer with its awards, and the daemon's run state."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from backend.config import RealmConfig, check_config
from backend.curriculum import LevelUp
from backend.event_kinds import EventKind
from backend.progression.achievements import load_achievements
from backend.progression.stats import HeroStats, apply_event
from backend.slot import SaveSlot
from backend.store import Store

log = logging.getLogger("realm.daemon")


@dataclass
class RunState:
    started_at: float = field(default_factory=time.time)
    paused: bool = False  # the player paused battles
    disk_paused: bool = False  # paused for lack of disk space
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # something changed: look again
    activity: str = "idle"  # idle | training | creating hero | stopping | stopped | what a held battle waits for
    battle_eta_s: float | None = None  # the running battle's latest estimate of its seconds left (None: none runs)
    battle_running: bool = False
    fetched_at: dict[int, float] = field(default_factory=dict)  # step -> monotonic time a zone's copy came back

    @property
    def shown(self) -> str:
        """What the heartbeat tells readers: a held battle is 'paused'."""
        if (self.paused or self.disk_paused) and self.activity in ("idle", "training"):
            return "paused"
        return self.activity


def level_change_event(change: LevelUp) -> tuple[str, dict[str, Any], str]:
    """(kind, payload, dedupe key) of a skill level mastered, gone rusty or restored. Rusty and
    restored can happen again to the same level: their key holds the level's evaluation count."""
    payload = {"skill": change.skill, "level": change.level, "mean_accuracy": change.mean_accuracy,
               "evaluations": change.evaluations}
    if change.kind == "mastered":
        return EventKind.SKILL_LEVEL_UP, payload, f"skill_level_up:{change.skill}:{change.level}"
    kind = EventKind.SKILL_RUSTY if change.kind == "rusty" else EventKind.SKILL_RESTORED
    return kind, payload, f"{kind}:{change.skill}:{change.level}:{change.evaluations}"


class Awards:
    """Keeps the hero's stats folded over the log and appends what they earn:
    level-ups, skill level-ups and achievements, each exactly once (dedupe keys)."""

    def __init__(self, store: Store, config: RealmConfig) -> None:
        self.store = store
        self.stats = HeroStats(rules=config.game)
        self.table = load_achievements()

    async def catch_up(self) -> list[int]:
        """Fold in events since the last look; append earned awards; return their ids."""
        new_ids: list[int] = []
        while True:
            events = await self.store.events.since(self.stats.last_event_id)
            if not events:
                return new_ids
            for event in events:
                before_level = self.stats.level
                before_changes = len(self.stats.changes)
                for achievement in apply_event(self.stats, event, self.table):
                    new_ids.append(await self.append(EventKind.ACHIEVEMENT, {
                        "id": achievement.id, "name": achievement.name, "icon": achievement.icon,
                        "description": achievement.description}, f"achievement:{achievement.id}"))
                for level in range(before_level + 1, self.stats.level + 1):
                    new_ids.append(await self.append(EventKind.LEVEL_UP, {"level": level}, f"level_up:{level}"))
                for change in self.stats.changes[before_changes:]:
                    new_ids.append(await self.append(*level_change_event(change)))

    async def append(self, kind: str, payload: dict[str, Any], key: str) -> int:
        event_id = await self.store.events.append(kind, payload, dedupe_key=key)
        if event_id and kind == EventKind.ACHIEVEMENT:
            await self.store.achievements.unlock(payload["id"], event_id)
        return event_id or 0


class DaemonContext:
    def __init__(self, slot: SaveSlot, store: Store, config: RealmConfig) -> None:
        self.slot = slot
        self.store = store
        self.config = config
        self.state = RunState()
        self.awards = Awards(store, config)
        self.pid = os.getpid()
        self._config_mtime = slot.config_path.stat().st_mtime_ns if slot.config_path.exists() else 0
        self._bad_config_mtime = 0

    async def event(self, kind: str, payload: dict[str, Any] | None = None, *, dedupe_key: str | None = None) -> int | None:
        """Append an event, then let the awards catch up with it."""
        event_id = await self.store.events.append(kind, payload or {}, dedupe_key=dedupe_key)
        await self.awards.catch_up()
        self.state.wake.set()
        return event_id

    def config_mtime(self) -> int:
        return self._config_mtime

    async def reload_config_if_changed(self) -> bool:
        """Pick up edits to realm.yaml; a broken file keeps the old settings (and says so once)."""
        try:
            mtime = self.slot.config_path.stat().st_mtime_ns
        except FileNotFoundError:
            return False
        if mtime == self._config_mtime:
            return False
        config, problems = check_config(self.slot.config_path)
        if config is None:
            if mtime != self._bad_config_mtime:
                self._bad_config_mtime = mtime
                await self.event(EventKind.WARNING, {
                    "source": "config", "message": f"realm.yaml has {len(problems)} problem(s); keeping the previous settings",
                    "problems": [p.render() for p in problems[:10]]})
            return False
        self._config_mtime = mtime
        self.config = config
        self.awards.stats.rules = config.game
        log.info("config reloaded")
        return True
