"""Built-in skills: find skill files and build the skills whose generator is a Python module.

A generator module exposes ``GENERATOR_ID: str``, ``GENERATOR_VERSION: str`` and
``create_skill(spec: SkillSpec) -> Skill`` (see skills/bin and skills/syllo).
Remote skills (``generator.url``) are built by backend.skill_registry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from skills.base import Skill
from skills.spec import SkillFileError, SkillSpec, line_of, load_specs

SKILLS_DIR = Path(__file__).resolve().parent
GENERATOR_CONTRACT = ("GENERATOR_ID", "GENERATOR_VERSION", "create_skill")


def build_builtin(spec: SkillSpec) -> Skill:
    """The in-process skill of a spec whose generator is a module."""
    where = spec.source or f"{spec.id}.yaml"
    name = spec.generator.module
    if name is None:
        raise SkillFileError(where, "generator", "not a built-in generator (it names a url)")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise SkillFileError(where, "generator.module", f"cannot import '{name}': {exc}",
                             line_of(spec.tree, ["generator", "module"])) from exc
    missing = [attr for attr in GENERATOR_CONTRACT if not hasattr(module, attr)]
    if missing:
        raise SkillFileError(where, "generator.module", f"module '{name}' lacks {', '.join(missing)} "
                             "(a generator declares GENERATOR_ID, GENERATOR_VERSION and create_skill(spec))")
    skill = module.create_skill(spec)
    if not isinstance(skill, Skill):
        raise SkillFileError(where, "generator.module", f"'{name}'.create_skill did not return a Skill")
    return skill


def builtin_skills(directory: Path = SKILLS_DIR) -> dict[str, Skill]:
    """id -> skill for every skill file in `directory` with a module generator."""
    return {spec.id: build_builtin(spec) for spec in load_specs(directory) if not spec.remote}


__all__ = ["SKILLS_DIR", "build_builtin", "builtin_skills"]
