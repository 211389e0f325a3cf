"""The hero's stats as a pure fold over the event log.

Replaying the same events always yields the same stats; every award is keyed so
that a repeated event (a restart, a crash-resumed battle) never counts twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from backend.config.model import GameRules
from backend.curriculum import LevelUp, SkillProgress, goal_lines, new_progress, next_goal, record_evaluation
from backend.event_kinds import EventKind
from backend.progression.achievements import Achievement, load_achievements
from backend.progression.rules import level_for_xp, scaled_inverse, xp_progress

UNBOUNDED_LEVEL = 1_000_000  # the fold does not know the skills' max levels; the daemon never evaluates past them
VAL_SMOOTHING = 0.3  # DEF: each checkpoint's validation loss moves its skill's average this much
TRAIN_SMOOTHING = 0.3  # ATK: each checkpoint's train loss (the mean since the last one) moves its skill's average this much
OWN_QUESTS = ""  # the key of the player's own quests (no skill) in the per-skill losses
LIVE_AFTER_STEPS = 60  # a battle's live moving average stands for its skill once this many of its steps are in
# (the engine's average moves 5 % a step and is carried from quest to quest: after 60 steps, under 5 %
# of it is still the previous quest's, which may be another skill's, ten times higher or lower)


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
    train_losses: dict[str, float] = field(default_factory=dict)  # skill (OWN_QUESTS: the player's) -> smoothed
    val_losses: dict[str, float] = field(default_factory=dict)
    current_skill: str | None = None
    battle: tuple[int, str] | None = None  # the battle started last: quest id, its skill (OWN_QUESTS: none)
    progress: dict[str, SkillProgress] = field(default_factory=dict)  # the curriculum's view, same rule
    skill_levels: dict[str, int] = field(default_factory=dict)  # mastered level per skill (never goes down)
    changes: list[LevelUp] = field(default_factory=list)  # mastered / rusty / restored, in order
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
        """The sum over the skills trained (and the player's own quests) of scale / that skill's
        smoothed train loss. Per skill, so a change of skill moves nothing: BIN's loss is a tenth
        of SY's, and one average over both jumped tenfold at every change of quest (measured)."""
        return summed_inverse(self.train_losses, self.rules)

    @property
    def defense(self) -> float | None:
        """As ATK, from the checkpoints' validation losses."""
        return summed_inverse(self.val_losses, self.rules)

    @property
    def training_level(self) -> int | None:
        """The level the skill being trained trains at (its lowest rusty level, else the next one)."""
        p = self.progress.get(self.current_skill) if self.current_skill else None
        return p.training_level if p else None

    @property
    def acc(self) -> float | None:
        """Latest evaluation accuracy at the training level of the skill being trained."""
        p = self.progress.get(self.current_skill) if self.current_skill else None
        return p.latest(p.training_level) if p else None

    def goal(self) -> str:
        """The next goal of the skill being trained ('' before any evaluation of it)."""
        p = self.progress.get(self.current_skill) if self.current_skill else None
        return next_goal(p, self.rules) if p else ""

    def goal_lines(self) -> tuple[str, str]:
        p = self.progress.get(self.current_skill) if self.current_skill else None
        return goal_lines(p, self.rules) if p else ("", "")

    def rusty(self, skill: str) -> tuple[int, ...]:
        p = self.progress.get(skill)
        return tuple(sorted(p.rusty)) if p else ()

    @property
    def skills_mastered(self) -> int:
        return sum(self.skill_levels.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "xp": self.xp, "level": self.level, "gold": self.gold, "atk": self.atk, "def": self.defense,
            "acc": self.acc, "quests_completed": self.quests_completed, "quests_failed": self.quests_failed,
            "checkpoints": self.checkpoints, "evaluations": self.evaluations, "champions": self.champions,
            "champion_step": self.champion_step, "skill_levels": dict(self.skill_levels),
            "rusty": {k: list(self.rusty(k)) for k in sorted(self.progress) if self.rusty(k)},
            "training_level": self.training_level, "goal": self.goal(),
            "achievements": list(self.achievements), "last_event_id": self.last_event_id,
        }


def on_quest_started(s: HeroStats, p: dict[str, Any]) -> None:
    if p.get("skill"):
        s.current_skill = p["skill"]
    if p.get("quest_id") is not None:
        s.battle = (int(p["quest_id"]), p.get("skill") or OWN_QUESTS)


def on_quest_completed(s: HeroStats, p: dict[str, Any]) -> None:
    s.quests_completed += 1
    s.gold += s.rules.gold_per_quest
    s.xp = max(s.xp, int(p.get("final_step") or 0))


def on_quest_failed(s: HeroStats, p: dict[str, Any]) -> None:
    s.quests_failed += 1


def smoothed(previous: float | None, value: float, weight: float) -> float:
    return value if previous is None else (1 - weight) * previous + weight * value


def summed_inverse(losses: dict[str, float], rules: GameRules) -> float | None:
    """ATK / DEF: the sum of scale / loss over the skills (None until a loss is known)."""
    values = [v for v in (scaled_inverse(loss, rules) for loss in losses.values()) if v is not None]
    return math.fsum(values) if values else None


def with_live_loss(stats: HeroStats, quest_id: int | None, job_step: int | None, loss_ema: float | None) -> HeroStats:
    """The stats with the running battle's moving average standing for its skill's train loss, once
    the battle has LIVE_AFTER_STEPS steps of its own in it (ATK moves as the battle runs, between
    checkpoints). A step of another battle than the one started last changes nothing."""
    if loss_ema is None or loss_ema <= 0 or stats.battle is None or quest_id != stats.battle[0] \
            or (job_step or 0) < LIVE_AFTER_STEPS:
        return stats
    return replace(stats, train_losses={**stats.train_losses, stats.battle[1]: float(loss_ema)})


def on_checkpoint(s: HeroStats, p: dict[str, Any]) -> None:
    s.checkpoints += 1
    step = int(p.get("step") or 0)
    if step <= s.xp and s.checkpoints > 1:
        return  # a resumed battle re-reports a checkpoint: it moves neither XP nor the averages
    s.xp = max(s.xp, step)  # XP = steps trained, never counted twice
    key = p.get("skill") or OWN_QUESTS
    if p.get("train_loss") is not None:
        s.train_losses[key] = smoothed(s.train_losses.get(key), float(p["train_loss"]), TRAIN_SMOOTHING)
    if p.get("val_loss") is not None:
        s.val_losses[key] = smoothed(s.val_losses.get(key), float(p["val_loss"]), VAL_SMOOTHING)
    if p.get("skill"):
        s.current_skill = p["skill"]


def on_evaluation(s: HeroStats, p: dict[str, Any]) -> None:
    """The curriculum's own rule (backend.curriculum.record_evaluation): mastered, rusty, restored."""
    skill, level, acc = p["skill"], int(p["level"]), float(p["accuracy"])
    s.evaluations += 1
    current = s.progress.get(skill) or new_progress(skill, UNBOUNDED_LEVEL)
    if not 0.0 <= acc <= 1.0 or not 1 <= level <= current.max_level:
        return
    score = p.get("score")
    s.progress[skill], change = record_evaluation(current, level, acc, s.rules,
                                                  float(score) if isinstance(score, (int, float)) else None)
    s.skill_levels[skill] = s.progress[skill].mastered
    if change is not None:
        s.changes.append(change)


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
