"""DIO's portrait: ASCII art that changes with the level tier."""

from __future__ import annotations

from textual.widgets import Static

TIERS: tuple[tuple[int, str, str], ...] = (
    (1, "Apprentice", r"""
   .---.
  ( o o )
   \ - /
  /|   |\
   |___|
   /   \
"""),
    (5, "Adept", r"""
   .---.  *
  ( o o ) |
   \ ~ /  |
  /|###|\ |
   |###|  |
   /   \  |
"""),
    (10, "Knight", r"""
   _/^\_
  [ o o ]  /
   \ = /  /
  /|###|\/
   |###|=+
   /   \
"""),
    (25, "Champion", r"""
  \|/\|/
  ( o o )  ^
   \ = /  /|\
  /|###|\ |
   |###|  |
   /   \  |
"""),
    (50, "Archmage", r"""
    /\
   /**\   *
  ( o o ) |
   \ ~ /  |
  /|###|\ |
  /_____\ |
"""),
)


def tier_for(level: int) -> tuple[str, str]:
    """(title, art) of the highest tier the level reaches."""
    title, art = TIERS[0][1], TIERS[0][2]
    for start, name, picture in TIERS:
        if level >= start:
            title, art = name, picture
    return title, art


class Portrait(Static):
    DEFAULT_CSS = """
    Portrait { width: 13; height: 7; color: $primary; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._tier: str | None = None

    def set_level(self, level: int) -> None:
        title, art = tier_for(level)
        if title != self._tier:
            self._tier = title
            self.update("\n".join(line.rstrip() for line in art.strip("\n").splitlines()) + f"\n {title}")
