"""The player's own plan changes (strategy, a skill on or off, its weight) reach the chronicle
as what they mean: a plan event in words, never a warning with a dict in it."""

from __future__ import annotations

from backend.command_kinds import CurriculumSet, SkillPlanSet
from backend.config import load_config
from backend.daemon.context import DaemonContext
from backend.daemon.settings_ops import curriculum_set, skill_plan
from backend.event_kinds import EventKind
from backend.store import Store
from game.data.eventtext import line


async def test_plan_changes_are_told_in_words_and_reach_realm_yaml(save) -> None:
    store = await Store.open(save.db_path)
    try:
        ctx = DaemonContext(save, store, load_config(save.config_path))
        await curriculum_set(ctx, CurriculumSet(strategy="equal"))
        await skill_plan(ctx, SkillPlanSet(skill="sy", enabled=False))
        await skill_plan(ctx, SkillPlanSet(skill="bin", weight=2.5, priority=3))
        events = await store.events.since(0)
        assert not [e for e in events if e.kind == EventKind.WARNING]
        lines = [line(e.kind, e.payload) for e in events if e.kind == EventKind.PLAN_CHANGED]
        assert lines == ["🧭 The curriculum follows the equal strategy",
                         "🧭 SY rests: no new SY quests",
                         "🧭 BIN's share of the quests is weighted 2.50; BIN's priority is now 3"]
        config = load_config(save.config_path)
        assert config.curriculum.strategy == "equal" and config.curriculum.skills["sy"].enabled is False
        assert config.curriculum.skills["bin"].weight == 2.5
    finally:
        await store.close()
