"""The game's rules as small pure functions (values come from realm.yaml `game:`)."""

from __future__ import annotations

from collections.abc import Sequence

from backend.config.model import GameRules
from backend.curriculum import level_up_due


def level_for_xp(xp: int, rules: GameRules) -> int:
    """Level = 1 + XP // xp_per_level."""
    return 1 + max(xp, 0) // rules.xp_per_level


def xp_progress(xp: int, rules: GameRules) -> tuple[int, int]:
    """(XP into the current level, XP the level needs)."""
    return max(xp, 0) % rules.xp_per_level, rules.xp_per_level


def scaled_inverse(loss: float | None, rules: GameRules) -> float | None:
    """ATK / DEF: scale / loss (None until a loss is known)."""
    if loss is None or loss <= 0:
        return None
    return rules.stat_scale / loss


def level_mastered(accuracies: Sequence[float], rules: GameRules) -> bool:
    """The curriculum's level-up rule (one rule for the whole game)."""
    return level_up_due(accuracies, rules)
