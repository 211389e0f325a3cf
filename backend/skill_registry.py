"""The skills of the realm: every skills/*.yaml file, built-in or remote, as id -> Skill.

Built-in skills (``generator.module``) run in-process; a file naming a
``generator.url`` gets a RemoteSkill that speaks the skill API. Both implement
skills.base.Skill, so callers never need to know which one they hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from backend.errors import UserFacingError
from skills.base import Problem, Skill, SkillError
from skills.catalog import SKILLS_DIR, build_builtin
from skills.spec import SkillFileError, load_specs

SKILLS_DIR_ENV = "REALM_SKILLS_DIR"


class SkillConfigError(UserFacingError):
    """A skill file is broken, or a skill or level does not exist."""


def skills_dir() -> Path:
    """$REALM_SKILLS_DIR, else the skills/ package folder."""
    env = os.environ.get(SKILLS_DIR_ENV)
    return Path(env).expanduser() if env else SKILLS_DIR


def load_skills(directory: Path | None = None) -> dict[str, Skill]:
    """id -> Skill for every skill file (skills/*.yaml, skipping _template.yaml), sorted by id.
    Raises SkillConfigError naming the file, key and problem of a broken file. Remote
    skills are not contacted until first used."""
    folder = directory or skills_dir()
    if not folder.is_dir():
        raise SkillConfigError(f"no skills folder at {folder}", fix=f"point {SKILLS_DIR_ENV} at a folder of skill YAML files")
    try:
        specs = load_specs(folder)
        skills: dict[str, Skill] = {}
        for spec in specs:
            if spec.remote:
                from backend.skill_api.client import RemoteSkill  # httpx only when a remote skill exists

                skills[spec.id] = RemoteSkill(spec)
            else:
                skills[spec.id] = build_builtin(spec)
    except SkillFileError as exc:
        where = f"{exc.file}:{exc.line}" if exc.line else exc.file
        raise SkillConfigError(f"skill file problem at key '{exc.key}': {exc.problem}", where=where,
                               fix="correct that key (skills/_template.yaml documents every key)") from exc
    return dict(sorted(skills.items()))


def get_skill(skills: dict[str, Skill], skill_id: str) -> Skill:
    """The skill with that id, or a SkillConfigError naming the valid ids."""
    skill = skills.get(skill_id.lower())
    if skill is None:
        raise SkillConfigError(f"unknown skill '{skill_id}'", fix=f"use one of: {', '.join(skills) or '(none installed)'}")
    return skill


def check_level(skill: Skill, skill_id: str, level: int) -> None:
    """SkillConfigError naming the valid range when `level` is not one of the skill's levels."""
    max_level = skill.info.max_level
    if not 1 <= level <= max_level:
        raise SkillConfigError(f"level {level} is out of range for skill '{skill_id}'",
                               fix=f"use a level from 1 to {max_level}")


def user_error(exc: SkillError) -> SkillConfigError:
    """A SkillError (bad request, unreachable remote skill) as a player-facing error."""
    return SkillConfigError(str(exc))


@dataclass(frozen=True)
class EvalItem:
    """One evaluation problem, flattened for overlap checks (DEEP validation)."""

    skill: str
    level: int
    problem_id: str
    prompt: str  # the user turn, exactly as DIO sees it
    answer: str


def all_eval_problems(skills: dict[str, Skill]) -> list[Problem]:
    """Every evaluation problem of every level of every skill."""
    out: list[Problem] = []
    for skill in skills.values():
        for level in range(1, skill.info.max_level + 1):
            out.extend(skill.eval_set(level))
    return out


def eval_index(skills: dict[str, Skill]) -> dict[str, EvalItem]:
    """User prompt text -> evaluation problem, over all skills and levels. A training
    line whose user turn is a key here would leak an evaluation problem into training.
    (For SY, training generation also never reuses an evaluation puzzle's word list.)"""
    return {
        p.prompt_text: EvalItem(p.skill, p.level, p.id, p.prompt_text, p.answer)
        for p in all_eval_problems(skills)
    }
