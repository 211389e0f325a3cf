"""'While you were away': what changed between two points of the event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.config.model import GameRules
from backend.event_kinds import EventKind
from backend.fmt import fmt_count, fmt_duration
from backend.progression.achievements import load_achievements
from backend.progression.stats import replay


@dataclass
class AwaySummary:
    elapsed_s: float
    levels_gained: int
    level_now: int
    xp_gained: int
    gold_gained: int
    quests_completed: list[str] = field(default_factory=list)
    skill_level_ups: list[tuple[str, int]] = field(default_factory=list)
    new_champions: list[int] = field(default_factory=list)
    achievements: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.xp_gained or self.gold_gained or self.quests_completed or self.skill_level_ups
                    or self.new_champions or self.achievements)

    def lines(self) -> list[str]:
        names = {a.id: f"{a.icon} {a.name}" for a in load_achievements()}
        out = [f"You were away for {fmt_duration(self.elapsed_s)}."]
        if self.levels_gained:
            out.append(f"⬆ {self.levels_gained} level(s) gained — now level {self.level_now}")
        if self.xp_gained:
            out.append(f"✦ {fmt_count(self.xp_gained)} XP")
        if self.gold_gained:
            out.append(f"💰 {fmt_count(self.gold_gained)} gold")
        if self.quests_completed:
            out.append(f"🏆 {len(self.quests_completed)} quest(s) completed: {', '.join(self.quests_completed[:5])}"
                       + (" …" if len(self.quests_completed) > 5 else ""))
        for skill, level in self.skill_level_ups:
            out.append(f"✨ {skill.upper()} mastered level {level}")
        for step in self.new_champions:
            out.append(f"👑 new champion: checkpoint-{step}")
        for ach in self.achievements:
            out.append(f"🏅 {names.get(ach, ach)}")
        return out


def away_summary(events: Sequence[Any], seen_id: int, rules: GameRules | None = None,
                 seen_ts: float | None = None, now_ts: float | None = None) -> AwaySummary:
    """Compare the stats at event `seen_id` (what the player last saw) with the end of `events`."""
    before = replay([e for e in events if e.id <= seen_id], rules)
    after_events = [e for e in events if e.id > seen_id]
    after = replay(events, rules)
    start = seen_ts if seen_ts is not None else (before.last_ts or (after_events[0].ts if after_events else 0.0))
    end = now_ts if now_ts is not None else (after.last_ts or start)
    return AwaySummary(
        elapsed_s=max(0.0, end - start),
        levels_gained=after.level - before.level,
        level_now=after.level,
        xp_gained=after.xp - before.xp,
        gold_gained=after.gold - before.gold,
        quests_completed=[str(e.payload.get("name", e.payload.get("quest_id"))) for e in after_events
                          if e.kind == EventKind.QUEST_COMPLETED],
        skill_level_ups=skill_level_ups(before.skill_levels, after.skill_levels),
        new_champions=[int(e.payload["step"]) for e in after_events if e.kind == EventKind.CHAMPION],
        achievements=[a for a in after.achievements if a not in before.achievements],
    )


def skill_level_ups(before: dict[str, int], after: dict[str, int]) -> list[tuple[str, int]]:
    out = []
    for skill, level in sorted(after.items()):
        out += [(skill, lv) for lv in range(before.get(skill, 0) + 1, level + 1)]
    return out
