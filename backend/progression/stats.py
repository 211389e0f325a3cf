"""The hero's stats as a pure fold over the event log.

Replaying the same events always yields the same stats; every award is keyed so
that a repeated event (a restart, a crash-resumed battle) never counts twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.config.model import GameRules
from backend.event_kinds import EventKind
from backend.progression.achievements import Achievement, load_achievements
from backend.progression.rules import level_for_xp, level_mastered, scaled_inverse, xp_progress


@dataclass
class HeroStats:
    xp: int = 0
    gold: int = 0
    quests_completed: int = 0
    quests_failed: int = 0
    checkpoints: int = 0
    evaluations: int = 0
    champions: int = 0
    champion_step: int | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    current_skill: str | None = None
    accuracy: dict[str, float] = field(default_factory=dict)  # latest per skill
    skill_levels: dict[str, int] = field(default_factory=dict)  # mastered level per skill
    skill_history: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    achievements: list[str] = field(default_factory=list)  # ids, in unlock order
    last_event_id: int = 0
    last_ts: float | None = None
    rules: GameRules = field(default_factory=GameRules)

    @property
    def level(self) -> int:
        return level_for_xp(self.xp, self.rules)

    @property
    def xp_in_level(self) -> tuple[int, int]:
        return xp_progress(self.xp, self.rules)

    @property
    def atk(self) -> float | None:
        return scaled_inverse(self.train_loss, self.rules)

    @property
    def defense(self) -> float | None:
        return scaled_inverse(self.val_loss, self.rules)

    @property
    def acc(self) -> float | None:
        """Latest evaluation accuracy on the skill being trained."""
        return self.accuracy.get(self.current_skill) if self.current_skill else None

    @property
    def skills_mastered(self) -> int:
        return sum(self.skill_levels.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "xp": self.xp, "level": self.level, "gold": self.gold, "atk": self.atk, "def": self.defense,
            "acc": self.acc, "quests_completed": self.quests_completed, "quests_failed": self.quests_failed,
            "checkpoints": self.checkpoints, "evaluations": self.evaluations, "champions": self.champions,
            "champion_step": self.champion_step, "skill_levels": dict(self.skill_levels),
            "achievements": list(self.achievements), "last_event_id": self.last_event_id,
        }


def on_quest_started(s: HeroStats, p: dict[str, Any]) -> None:
    if p.get("skill"):
        s.current_skill = p["skill"]


def on_quest_completed(s: HeroStats, p: dict[str, Any]) -> None:
    s.quests_completed += 1
    s.gold += s.rules.gold_per_quest
    s.xp = max(s.xp, int(p.get("final_step") or 0))


def on_quest_failed(s: HeroStats, p: dict[str, Any]) -> None:
    s.quests_failed += 1


def on_checkpoint(s: HeroStats, p: dict[str, Any]) -> None:
    s.checkpoints += 1
    s.xp = max(s.xp, int(p.get("step") or 0))  # XP = steps trained, never counted twice
    if p.get("train_loss") is not None:
        s.train_loss = float(p["train_loss"])
    if p.get("val_loss") is not None:
        s.val_loss = float(p["val_loss"])
    if p.get("skill"):
        s.current_skill = p["skill"]


def on_evaluation(s: HeroStats, p: dict[str, Any]) -> None:
    skill, level, acc = p["skill"], int(p["level"]), float(p["accuracy"])
    s.evaluations += 1
    s.accuracy[skill] = acc
    per_level = s.skill_history.setdefault(skill, {})
    per_level.setdefault(level, []).append(acc)
    mastered = s.skill_levels.get(skill, 0)
    if level == mastered + 1 and level_mastered(per_level[level], s.rules):
        s.skill_levels[skill] = level
    else:
        s.skill_levels.setdefault(skill, mastered)


def on_champion(s: HeroStats, p: dict[str, Any]) -> None:
    s.champions += 1
    s.champion_step = int(p["step"])


REDUCERS: dict[str, Callable[[HeroStats, dict[str, Any]], None]] = {
    EventKind.QUEST_STARTED: on_quest_started,
    EventKind.QUEST_COMPLETED: on_quest_completed,
    EventKind.QUEST_FAILED: on_quest_failed,
    EventKind.CHECKPOINT_SAVED: on_checkpoint,
    EventKind.EVALUATION: on_evaluation,
    EventKind.CHAMPION: on_champion,
}


def apply_event(stats: HeroStats, event: Any, achievements: tuple[Achievement, ...]) -> list[Achievement]:
    """Fold one event in; return the achievements it unlocked."""
    reducer = REDUCERS.get(event.kind)
    if reducer:
        reducer(stats, event.payload)
    stats.last_event_id = event.id
    stats.last_ts = event.ts
    unlocked = [a for a in achievements if a.id not in stats.achievements and a.reached(stats)]
    stats.achievements += [a.id for a in unlocked]
    return unlocked


def replay(events: Iterable[Any], rules: GameRules | None = None,
           achievements: tuple[Achievement, ...] | None = None) -> HeroStats:
    """The hero's stats after these events, in order."""
    stats = HeroStats(rules=rules or GameRules())
    table = load_achievements() if achievements is None else achievements
    for event in events:
        apply_event(stats, event, table)
    return stats
