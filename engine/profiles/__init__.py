"""Data profiles: how examples are shaped for training and how generation is steered."""

from __future__ import annotations

from engine.profiles.base import DataProfile
from engine.profiles.emoji_think import EmojiThinkProfile
from engine.profiles.plain import PlainProfile
from engine.profiles.regime3 import Regime3Profile

PROFILES: dict[str, type[DataProfile]] = {
    "none": PlainProfile,
    "emoji_think": EmojiThinkProfile,
    "regime3": Regime3Profile,
}


def get_profile(name: str) -> DataProfile:
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None


__all__ = ["DataProfile", "PROFILES", "get_profile"]
