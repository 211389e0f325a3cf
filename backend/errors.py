"""Errors that reach the player: each says what is wrong, where, and how to fix it."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is written for the player (what, where, how to fix)."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"(at {self.where})")
        text = " ".join(parts)
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class SaveNotFound(UserFacingError):
    """The save slot folder or its database does not exist."""


class ConfigError(UserFacingError):
    """realm.yaml is unreadable or invalid."""
