"""The skill catalogue for the Guild and the new-quest dialog.

From backend.skill_registry when it loads (it reads skills/*.yaml: about half a
second, so it runs in a worker thread once and is cached); otherwise a bare
catalogue from what the database and realm.yaml know."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class SkillCard:
    id: str
    name: str
    icon: str
    colour: str
    max_level: int | None
    description: str = ""
    level_summaries: tuple[str, ...] = ()

    def summary(self, level: int) -> str:
        if 1 <= level <= len(self.level_summaries):
            return self.level_summaries[level - 1]
        return ""


@dataclass(frozen=True)
class Catalogue:
    cards: dict[str, SkillCard]
    error: str | None = None  # why the registry could not be read, when it could not


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """Blocking: call from a thread worker. Read once per process (restart to see edited skill files)."""
    try:
        from backend.skill_registry import load_skills
    except ImportError as exc:  # the registry is not installed in this build
        return Catalogue({}, f"skill registry unavailable: {exc}")
    try:
        skills = load_skills()
    except Exception as exc:  # noqa: BLE001 - a broken skill file must not take the TUI down
        return Catalogue({}, str(exc))
    cards = {}
    for sid, skill in skills.items():
        info = skill.info
        summaries = {li.level: li.summary for li in info.levels}
        cards[sid] = SkillCard(
            id=sid, name=info.name, icon=info.icon, colour=info.colour, max_level=info.max_level,
            description=" ".join(info.description.split()),
            level_summaries=tuple(summaries.get(lv, "") for lv in range(1, info.max_level + 1)),
        )
    return Catalogue(cards)


def bare_card(skill_id: str) -> SkillCard:
    return SkillCard(id=skill_id, name=skill_id.upper(), icon="•", colour="", max_level=None)
