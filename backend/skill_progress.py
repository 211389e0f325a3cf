"""Each skill's curriculum progress, from the evaluations stored in the save."""

from __future__ import annotations

from collections.abc import Mapping

from backend.config.model import GameRules
from backend.curriculum import Evaluation, LevelUp, SkillProgress, replay
from backend.store import Store
from skills.base import Skill


def max_levels(skills: Mapping[str, Skill]) -> dict[str, int]:
    return {sid: skill.info.max_level for sid, skill in skills.items()}


async def skill_progress(store: Store, skills: Mapping[str, Skill], rules: GameRules) -> tuple[dict[str, SkillProgress], list[LevelUp]]:
    """Replay every stored evaluation in checkpoint order (the evaluator answers the newest checkpoint
    first and backfills older ones when idle: an old checkpoint's result must not count as the latest)."""
    rows = await store.fetchall("SELECT skill, level, accuracy, score FROM evaluations ORDER BY checkpoint_step, id")
    return replay((Evaluation(r["skill"], r["level"], r["accuracy"], r["score"]) for r in rows),
                  max_levels(skills), rules)


async def recent_generated_skills(store: Store, limit: int = 50, before_id: int | None = None) -> list[str]:
    """Skills of the latest generated quests, oldest first (the curriculum's 'recent'); deleted ones
    (superseded before they started, or by the player) never had their turn and do not count.
    `before_id`: only those generated before that quest (the choice as it would be made now)."""
    rows = await store.fetchall(
        "SELECT skill FROM (SELECT id, skill FROM quests WHERE source = 'generator' AND skill IS NOT NULL "
        "AND state != 'deleted' AND id < ? ORDER BY id DESC LIMIT ?) ORDER BY id",
        (before_id if before_id is not None else 1 << 62, limit))
    return [r["skill"] for r in rows]
