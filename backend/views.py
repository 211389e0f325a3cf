"""Read models shared by `realm status` and the TUI: what the database says now."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from backend.config.model import RealmConfig
from backend.daemon.riders import resumable_lineup
from backend.event_kinds import EventKind
from backend.progression import HeroStats, replay
from backend.progression.restore_notice import SHOWN_FOR_S, RestoreNotice, restore_notice
from backend.progression.stats import with_live_loss
from backend.store import Store
from backend.store.heartbeat import Heartbeat
from backend.store.metrics import StepMetric
from backend.store.quests import Quest
from backend.store.services import ServiceStatus


@dataclass(frozen=True)
class BattleView:
    quest: Quest
    metric: StepMetric | None
    paused: bool

    @property
    def progress(self) -> tuple[int, int]:
        if self.metric and self.metric.total_steps:
            return int(self.metric.job_step or 0), int(self.metric.total_steps)
        return int(self.quest.steps_done or 0), int(self.quest.steps_total or 0)


@dataclass(frozen=True)
class StatusView:
    hero_name: str
    stats: HeroStats
    battle: BattleView | None
    counts: dict[str, int]
    queued: dict[str, int]
    daemon: Heartbeat | None
    daemon_alive: bool
    node: ServiceStatus | None
    restore: RestoreNotice | None = None  # the newest database restore, when recent

    @property
    def node_alive(self) -> bool:
        return bool(self.daemon_alive and self.node and self.node.status == "up")


def live_stats(stats: HeroStats, metric: StepMetric | None) -> HeroStats:
    """The stats with the battle's latest step in: XP is every optimizer step trained so far (the
    step events arrive every few steps; checkpoints only every `save_every`), and ATK follows the
    battle's moving average for its skill as it moves (stats.with_live_loss)."""
    if metric is None:
        return stats
    live = with_live_loss(stats, metric.quest_id, metric.job_step, metric.loss_ema)
    return replace(live, xp=max(stats.xp, int(metric.step)))


async def hero_stats(store: Store, config: RealmConfig) -> HeroStats:
    """The event log's stats, with the newest step metric in (see live_stats)."""
    return live_stats(replay(await store.events.since(0), config.game), await store.metrics.latest())


async def battle_view(store: Store, daemon: Heartbeat | None) -> BattleView | None:
    lineup = await resumable_lineup(store)
    if lineup is None:
        return None
    quest = lineup.host
    metrics = await store.metrics.for_quest(quest.id, limit=1)
    paused = bool(daemon and daemon.state == "paused")
    return BattleView(quest, metrics[-1] if metrics else None, paused)


async def read_status(store: Store, config: RealmConfig) -> StatusView:
    daemon = await store.heartbeat.read()
    return StatusView(
        hero_name=config.hero.name,
        stats=await hero_stats(store, config),
        battle=await battle_view(store, daemon),
        counts=await store.quests.counts(),
        queued=await store.quests.queued_by_priority(),
        daemon=daemon,
        daemon_alive=bool(daemon and daemon.alive()),
        node=await store.services.get("inference_node"),
        restore=await recent_restore(store),
    )


async def recent_restore(store: Store) -> RestoreNotice | None:
    """The newest database restore if it happened within SHOWN_FOR_S (a week)."""
    last = await store.events.recent(1, kinds=(EventKind.DATABASE_RESTORED,))
    if not last or time.time() - last[0].ts >= SHOWN_FOR_S:
        return None
    return restore_notice(last + await store.events.since(last[0].id, kinds=(EventKind.WARNING,)))


def as_dict(view: StatusView) -> dict[str, Any]:
    """A JSON-friendly status (realm status --json)."""
    s = view.stats
    return {
        "hero": view.hero_name, **s.snapshot(),
        "battle": None if view.battle is None else {
            "quest": view.battle.quest.name, "skill": view.battle.quest.skill, "level": view.battle.quest.level,
            "step": view.battle.progress[0], "total": view.battle.progress[1], "paused": view.battle.paused,
        },
        "queue": view.queued, "quests": view.counts,
        "daemon": {"alive": view.daemon_alive, "pid": view.daemon.pid if view.daemon else None,
                   "state": view.daemon.state if view.daemon else None},
        "node": {"alive": view.node_alive, "status": view.node.status if view.node else None,
                 "url": view.node.url if view.node else None},
        "restored": None if view.restore is None else {"at": view.restore.ts, "lines": view.restore.lines()},
    }
