"""Skill files: the real ones load; broken ones name file, key and problem; adding a
skill is a YAML file plus a generator module, nothing else."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from backend.skill_registry import SkillConfigError, load_skills
from skills.catalog import SKILLS_DIR, build_builtin
from skills.spec import SkillFileError, load_spec, spec_paths

BIN_YAML = (SKILLS_DIR / "bin.yaml").read_text(encoding="utf-8")


def test_builtin_files_load(all_skills) -> None:
    assert list(all_skills) == ["bin", "sy"]
    assert [p.name for p in spec_paths(SKILLS_DIR)] == ["bin.yaml", "sy.yaml"]  # _template.yaml skipped
    for skill_id, top, per_level in (("bin", 30, 10), ("sy", 50, 5)):
        info = all_skills[skill_id].info
        assert info.max_level == top and len(info.levels) == top
        assert info.eval_per_level == per_level
        assert info.name and info.icon and info.colour.startswith("#") and info.description


def test_template_is_a_valid_skill_file(tmp_path: Path) -> None:
    target = tmp_path / "myskill.yaml"
    shutil.copy(SKILLS_DIR / "_template.yaml", target)
    spec = load_spec(target)
    assert spec.id == "myskill" and spec.max_level == 3 and spec.generator.module == "skills.myskill"


def write(tmp_path: Path, text: str, name: str = "bin") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return path


def broken_bin(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BIN_YAML
    return write(tmp_path, BIN_YAML.replace(old, new, 1))


CASES = [
    # (old, new, key, words in the problem, line)
    ('colour: "#e0a526"', 'colour: "orange"', "colour", "should match pattern", 5),
    ("name: Binary Alchemy\n", "", "name", "required key is missing", None),
    ("max_level: 30", "max_level: 31", "(top level)", "missing levels 31", None),
    ("  7:  {forms: [add, sub, mul], max: 2047, small: 7}\n", "", "(top level)", "missing levels 7", None),
    ("  2:  {forms: [add], max: 31}", "  2:  {forms: [add], max: lots}", "levels.2.max", "valid integer", 29),
    ("  2:  {forms: [add], max: 31}", "  2:  {forms: [add], maxx: 31}", "levels.2.max", "missing (also: levels.2.maxx: unknown key", 29),
    ("  3:  {forms: [add], max: 127}", "  3:  {forms: [root], max: 127}", "levels.3.forms.0", "'add'", None),
    ("  6:  {forms: [add, sub, mul], max: 1023, small: 3}", "  6:  {forms: [add, sub, mul], max: 1023}", "levels.6",
     "need small >= 2", 33),
    ("  2:  {forms: [add], max: 31}", "  2:  {forms: [add], max: 31, width: 5}", "levels.2", "width 5 is too narrow", 29),
    ("  module: skills.bin", "  module: skills.bin\n  url: http://127.0.0.1:9", "generator", "exactly one of", 12),
    ("  module: skills.bin", "  module: skills.nothing_here", "generator.module", "cannot import", 13),
    ('  user: "{question}"', '  user: "{question} {answer}"', "prompt.user", "unknown placeholder", 24),
    ("  per_level: 10", "  per_level: 0", "evaluation.per_level", "greater than or equal to 1", 15),
    ("id: bin", "id: bin2", "id", "must match the file name", 2),
]


@pytest.mark.parametrize(("old", "new", "key", "problem", "line"), CASES, ids=[c[2] + ":" + c[3][:12] for c in CASES])
def test_broken_file_names_file_key_and_problem(tmp_path: Path, old: str, new: str, key: str, problem: str, line: int | None) -> None:
    path = broken_bin(tmp_path, old, new)
    with pytest.raises(SkillFileError) as caught:
        build_builtin(load_spec(path))
    err = caught.value
    assert err.file == str(path)
    assert err.key == key
    assert problem in err.problem
    if line is not None:
        assert err.line == line
    assert str(path) in str(err) and key in str(err)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, BIN_YAML.replace("max_level: 30", "max_level: [30"))
    with pytest.raises(SkillFileError) as caught:
        load_spec(path)
    assert caught.value.key == "(syntax)" and "not valid YAML" in caught.value.problem and caught.value.line


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(SkillFileError, match="must be a mapping"):
        load_spec(write(tmp_path, "- just\n- a list\n"))


def test_registry_turns_file_errors_into_user_errors(tmp_path: Path) -> None:
    broken_bin(tmp_path, "  2:  {forms: [add], max: 31}", "  2:  {forms: [add], max: -4}")
    with pytest.raises(SkillConfigError) as caught:
        load_skills(tmp_path)
    text = str(caught.value)
    assert "bin.yaml" in text and "levels.2.max" in text and "greater than or equal to 1" in text and "fix:" in text


def test_remote_spec_needs_only_the_url(tmp_path: Path) -> None:
    path = write(tmp_path, """
        id: far
        name: Far Away
        icon: "?"
        colour: "#123456"
        description: served elsewhere
        max_level: 50
        generator:
          url: http://127.0.0.1:9
    """, name="far")
    spec = load_spec(path)
    assert spec.remote and spec.levels is None


TOY_MODULE = '''
"""A toy skill: say the parity of a number. Lives outside the project."""
import random
from pydantic import BaseModel, ConfigDict
from skills.base import Grade
from skills.generated import GeneratedSkill, Made

GENERATOR_ID = "toy.parity"
GENERATOR_VERSION = "1"


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max: int


class Parity(GeneratedSkill):
    GENERATOR_ID = GENERATOR_ID
    GENERATOR_VERSION = GENERATOR_VERSION
    LevelParams = Level
    PROMPT_FIELDS = frozenset({"n"})

    def make(self, level, params, rng: random.Random) -> Made:
        n = rng.randint(0, params.max)
        return Made({"n": str(n)}, "even" if n % 2 == 0 else "odd")

    def grade(self, problem, answer):
        ok = answer.strip() == problem.answer
        return Grade(correct=ok, score=float(ok), detail="")

    def space_size(self, level):
        return self.levels[level].max + 1

    def summary(self, params):
        return f"numbers 0-{params.max}"


def create_skill(spec):
    return Parity(spec)
'''

TOY_YAML = """
id: parity
name: Parity
icon: "#"
colour: "#00ff00"
description: odd or even
max_level: 2
generator:
  module: toy_parity_gen
evaluation:
  per_level: 5
  seed: 3
prompt:
  system: null
  user: "{n} is"
levels:
  1: {max: 99}
  2: {max: 9999}
"""


def test_adding_a_skill_is_a_yaml_file_and_a_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "toy_parity_gen.py").write_text(TOY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(code))
    folder = tmp_path / "skills"
    folder.mkdir()
    shutil.copy(SKILLS_DIR / "bin.yaml", folder / "bin.yaml")
    (folder / "parity.yaml").write_text(TOY_YAML, encoding="utf-8")
    skills = load_skills(folder)
    assert list(skills) == ["bin", "parity"]
    toy = skills["parity"]
    problems = toy.sample(2, 20, seed=1)
    assert all(p.skill == "parity" and p.prompt_text.endswith(" is") for p in problems)
    assert all(toy.grade(p, p.answer).correct for p in problems)
    assert len(toy.eval_set(1)) == 5
    assert toy.info.generator_id == "toy.parity" and toy.info.level_summary(2) == "numbers 0-9999"
