"""The Tavern's read model: hero, battle, daemon and node, the chronicle."""

from __future__ import annotations

import time
from dataclasses import dataclass

from backend.progression.stats import HeroStats
from backend.store import Store
from backend.store.heartbeat import Heartbeat
from backend.store.services import ServiceStatus
from backend.views import battle_view, live_stats
from game.data.eventtext import describe
from game.data.feed import EventFeed

LOSS_POINTS = 120
CHRONICLE_LINES = 60


@dataclass(frozen=True)
class HeroView:
    name: str
    level: int
    xp: int
    xp_into: int
    xp_need: int
    atk: float | None
    defense: float | None
    acc: float | None
    acc_skill: str | None
    gold: int
    quests_completed: int
    skill_levels: tuple[tuple[str, int], ...]
    champion_step: int | None
    rusty: tuple[tuple[str, int], ...] = ()  # (skill, level) of every rusty level
    goal: tuple[str, str] = ("", "")  # the next goal of the skill being trained, in two short lines


@dataclass(frozen=True)
class BattleInfo:
    quest_id: int
    quest_name: str
    skill: str | None
    level: int | None
    step: int
    total: int
    eta_s: float | None
    loss: float | None
    tokens_per_s: float | None
    mfu: float | None
    paused: bool
    losses: tuple[float, ...]


@dataclass(frozen=True)
class ProcessInfo:
    """Daemon and node as the database tells them; `since` is not shown (keeps diffs cheap)."""

    daemon_alive: bool
    daemon_pid: int | None
    daemon_state: str | None
    daemon_detail: str
    daemon_note: str  # why the app could not start it, when it tried and failed
    node_status: str | None
    node_url: str | None
    node_detail: str


@dataclass(frozen=True)
class ChronicleLine:
    id: int
    ts: float
    kind: str
    text: str


@dataclass(frozen=True)
class TavernData:
    hero: HeroView
    battle: BattleInfo | None
    queued: int
    processes: ProcessInfo
    chronicle: tuple[ChronicleLine, ...]


def hero_view(name: str, s: HeroStats) -> HeroView:
    into, need = s.xp_in_level
    return HeroView(
        name=name, level=s.level, xp=s.xp, xp_into=into, xp_need=need, atk=s.atk, defense=s.defense,
        acc=s.acc, acc_skill=s.current_skill, gold=s.gold, quests_completed=s.quests_completed,
        skill_levels=tuple(sorted(s.skill_levels.items())), champion_step=s.champion_step,
        rusty=tuple((skill, lv) for skill in sorted(s.progress) for lv in s.rusty(skill)), goal=s.goal_lines(),
    )


def node_detail_text(node: ServiceStatus | None) -> str:
    if node is None:
        return ""
    d = node.detail or {}
    for key in ("message", "error", "reason"):
        if d.get(key):
            return str(d[key])
    if d.get("loaded") is not None:
        loaded = d["loaded"]
        return f"{len(loaded)} loaded" if isinstance(loaded, list) else f"{loaded} loaded"
    return ""


def process_info(daemon: Heartbeat | None, node: ServiceStatus | None, note: str, at: float | None = None) -> ProcessInfo:
    alive = bool(daemon and daemon.alive(at if at is not None else time.time()))
    return ProcessInfo(
        daemon_alive=alive,
        daemon_pid=daemon.pid if daemon else None,
        daemon_state=daemon.state if daemon else None,
        daemon_detail=(daemon.detail or "") if daemon else "",
        daemon_note=note,
        node_status=node.status if node else None,
        node_url=node.url if node else None,
        node_detail=node_detail_text(node),
    )


async def read_battle(store: Store, daemon: Heartbeat | None) -> BattleInfo | None:
    view = await battle_view(store, daemon)
    if view is None:
        return None
    q, m = view.quest, view.metric
    step, total = view.progress
    metrics = await store.metrics.for_quest(q.id, limit=LOSS_POINTS)
    return BattleInfo(
        quest_id=q.id, quest_name=q.name, skill=q.skill, level=q.level, step=step, total=total,
        eta_s=m.eta_s if m else None, loss=m.loss if m else None,
        tokens_per_s=m.tokens_per_s if m else None, mfu=m.mfu if m else None, paused=view.paused,
        losses=tuple(x.loss for x in metrics if x.loss is not None),
    )


async def read_tavern(store: Store, feed: EventFeed, hero_name: str, daemon_note: str = "") -> TavernData:
    """Assumes `feed` was pulled just before (the app does it once per change)."""
    daemon = await store.heartbeat.read()
    node = await store.services.get("inference_node")
    queued = sum((await store.quests.queued_by_priority()).values())
    chronicle = tuple(
        ChronicleLine(e.id, e.ts, e.kind, describe(e.kind, e.payload)) for e in feed.recent_events(CHRONICLE_LINES)
    )
    return TavernData(
        hero=hero_view(hero_name, live_stats(feed.stats, await store.metrics.latest())),
        battle=await read_battle(store, daemon),
        queued=queued,
        processes=process_info(daemon, node, daemon_note),
        chronicle=chronicle,
    )
