"""The game's rules as small pure functions (values come from realm.yaml `game:`)."""

from __future__ import annotations

from backend.config.model import GameRules


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
