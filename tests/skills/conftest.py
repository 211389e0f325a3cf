"""Fixtures of the skill tests: the real built-in skills, loaded once."""

from __future__ import annotations

import pytest

from backend.skill_registry import load_skills
from skills.base import Skill
from skills.catalog import SKILLS_DIR


@pytest.fixture(scope="session")
def all_skills() -> dict[str, Skill]:
    return load_skills(SKILLS_DIR)


@pytest.fixture(scope="session")
def bin_skill(all_skills: dict[str, Skill]):  # noqa: ANN201 (BinSkill)
    return all_skills["bin"]


@pytest.fixture(scope="session")
def sy_skill(all_skills: dict[str, Skill]):  # noqa: ANN201 (SySkill)
    return all_skills["sy"]
