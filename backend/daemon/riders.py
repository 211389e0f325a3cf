"""Small quests ride along: no battle of a few steps.

A quest shorter than `training.min_quest_steps` optimizer steps (a sparring set, a small
file of the player's) does not fight its own battle. It joins the next larger quest (the
host) as extra data: the host's engine job trains both files, shuffled together, and
both complete together. Small quests wait for a host, or until together they make
`min_quest_steps`; then they fight together as one battle (which in a campaign still
carries the optimizer state on).

Which quests ride with a host is kept in `meta` (`riders_of:<host id>`), so a battle that
a restart interrupts resumes with the same data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backend.config.model import RealmConfig
from backend.store import Store
from backend.store.quests import PRIORITY_ORDER, Quest, quest_from_row

RIDERS_KEY = "riders_of:{host}"
UNKNOWN_EXAMPLE_TOKENS = 64  # a quest validated without token statistics (quick level)


def estimated_tokens(quest: Quest) -> int:
    """Training tokens of a validated quest: from its report, else its examples times a guess."""
    tokens = ((quest.validation or {}).get("tokens") or {}).get("total")
    if tokens:
        return int(tokens)
    return (quest.examples or 0) * UNKNOWN_EXAMPLE_TOKENS


def estimated_steps(quest: Quest, config: RealmConfig) -> int:
    t = config.training
    per_step = t.tokens_per_micro_batch * t.grad_accum
    return math.ceil(estimated_tokens(quest) * (1 - t.validation_fraction) / per_step) * t.epochs


def is_small(quest: Quest, config: RealmConfig) -> bool:
    return config.training.min_quest_steps > 0 and estimated_steps(quest, config) < config.training.min_quest_steps


@dataclass(frozen=True)
class Lineup:
    """The next battle: the host quest and the small quests riding along."""

    host: Quest
    riders: tuple[Quest, ...] = ()

    @property
    def quests(self) -> tuple[Quest, ...]:
        return (self.host, *self.riders)


async def riders_of(store: Store, host_id: int) -> list[int]:
    return [int(i) for i in await store.meta.get(RIDERS_KEY.format(host=host_id), [])]


async def set_riders(store: Store, host_id: int, rider_ids: list[int]) -> None:
    await store.meta.set(RIDERS_KEY.format(host=host_id), rider_ids)


async def queued_in_order(store: Store) -> list[Quest]:
    """Queued quests, high before normal before low, first in first out."""
    rows = await store.fetchall(f"SELECT * FROM quests WHERE state = 'queued' ORDER BY {PRIORITY_ORDER}, queued_at, id")
    return [quest_from_row(r) for r in rows]


async def resumable_lineup(store: Store) -> Lineup | None:
    """A battle left 'processing' (a restart, a player's stop): its host and its riders."""
    processing = await store.quests.in_state("processing")
    if not processing:
        return None
    ridden = {i for q in processing for i in await riders_of(store, q.id)}
    hosts = [q for q in processing if q.id not in ridden] or processing
    host = hosts[0]
    ids = await riders_of(store, host.id)
    riders = tuple(q for q in processing if q.id in ids)
    return Lineup(host, riders)


async def next_lineup(store: Store, config: RealmConfig) -> Lineup | None:
    """The battle to fight next, or None to wait (a host is on its way from auto-generation)."""
    resumed = await resumable_lineup(store)
    if resumed is not None:
        return resumed
    queued = await queued_in_order(store)
    if not queued:
        return None
    small = [q for q in queued if is_small(q, config)]
    large = [q for q in queued if not is_small(q, config)]
    if large:
        return Lineup(large[0], tuple(small))
    if sum(estimated_steps(q, config) for q in small) >= config.training.min_quest_steps:
        return Lineup(small[0], tuple(small[1:]))
    return None  # held for a host (auto-generation makes one: see hosts_queued) or for more company


async def waiting_text(store: Store, config: RealmConfig) -> str | None:
    """What the battle waits for when only small quests are queued (for the heartbeat)."""
    small = [q for q in await queued_in_order(store) if is_small(q, config)]
    if not small:
        return None
    steps = sum(estimated_steps(q, config) for q in small)
    return (f"{len(small)} small quest(s) of about {steps} step(s) wait to ride along with a larger quest "
            f"(or for {config.training.min_quest_steps} steps together)")


async def hosts_queued(store: Store, config: RealmConfig) -> int:
    """Queued quests that fight their own battle (what auto-generation counts)."""
    return sum(1 for q in await queued_in_order(store) if not is_small(q, config))
