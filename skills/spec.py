"""Skill YAML files: the pydantic model and a loader whose errors name file, key and problem.

A skill file (see skills/_template.yaml) holds id, name, icon, colour,
description, max_level, the generator (a Python module path or the URL of a
remote skill API), the evaluation settings, the prompt format and the
parameters of every level. The generator module validates the level
parameters with its own model (`SkillFileError` again names the key, e.g.
``levels.3.max``).
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import yaml

from contracts import yaml_io
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class SkillFileError(ValueError):
    """A mistake in a skill file: which file, which key, what is wrong."""

    def __init__(self, file: str | Path, key: str, problem: str, line: int | None = None) -> None:
        self.file, self.key, self.problem, self.line = str(file), key, problem, line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {key}: {problem}")


class GeneratorSpec(BaseModel):
    """Exactly one of `module` (built-in, runs in-process) or `url` (remote skill API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    module: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    timeout_s: float = Field(30.0, gt=0, le=600, description="remote only: HTTP timeout")

    @model_validator(mode="after")
    def _one_of(self) -> "GeneratorSpec":
        if (self.module is None) == (self.url is None):
            raise ValueError("give exactly one of 'module' (a Python module such as skills.bin) or 'url' (http://host:port)")
        return self


class EvaluationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    per_level: int = Field(5, ge=1, le=1000, description="problems in the evaluation set of each level")
    seed: int = Field(ge=0, description="seed of the evaluation seed space (fixed forever)")
    hold_out_min: int = Field(
        500, ge=0,
        description="a level with at least this many distinct problems keeps its evaluation problems out of "
        "training (they test generalisation); a smaller level is mastered whole, so training may draw its "
        "evaluation problems (BIN level 1 has 100 sums); 0 holds out every level",
    )


class PromptSpec(BaseModel):
    """The prompt format: an optional system turn and a user template whose
    {placeholders} the generator fills (each generator documents its names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str | None = None
    user: str = Field(min_length=1)

    @field_validator("user")
    @classmethod
    def _template_parses(cls, v: str) -> str:
        try:
            placeholders(v)
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc}); write {{name}} for a placeholder and {{{{ }}}} for a literal brace") from exc
        return v


class SkillSpec(BaseModel):
    """One skills/<id>.yaml file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, description="short lowercase id, e.g. bin")
    name: str = Field(min_length=1, max_length=40)
    icon: str = Field(min_length=1, max_length=4)
    colour: str = Field(pattern=COLOUR_PATTERN, description="#rrggbb")
    description: str = Field(min_length=1)
    max_level: int = Field(ge=1, le=1000)
    generator: GeneratorSpec
    evaluation: EvaluationSpec | None = None
    prompt: PromptSpec | None = None
    levels: dict[int, dict[str, Any]] | None = None

    _source: Path | None = PrivateAttr(None)
    _tree: Any = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file it was loaded from."""
        return self._source

    @property
    def tree(self) -> Any:
        """The composed YAML node tree of the file (to find the line of a key)."""
        return self._tree

    @property
    def remote(self) -> bool:
        return self.generator.url is not None

    @model_validator(mode="after")
    def _builtin_needs_everything(self) -> "SkillSpec":
        if self.generator.module is None:
            return self
        missing = [k for k in ("evaluation", "prompt", "levels") if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a built-in generator needs {', '.join(missing)}")
        levels = sorted(self.levels or {})
        expected = list(range(1, self.max_level + 1))
        if levels != expected:
            absent = sorted(set(expected) - set(levels))
            extra = sorted(set(levels) - set(expected))
            parts = []
            if absent:
                parts.append(f"missing levels {compact_ranges(absent)}")
            if extra:
                parts.append(f"levels beyond max_level {self.max_level}: {compact_ranges(extra)}")
            raise ValueError(f"levels must be exactly 1-{self.max_level} ({'; '.join(parts)})")
        return self


def placeholders(template: str) -> set[str]:
    """The {names} a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def compact_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out: list[str] = []
    start = prev = None
    for n in numbers:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ", ".join(out)


def load_spec(path: Path) -> SkillSpec:
    """Read and validate one skill file. Raises SkillFileError naming file, key and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SkillFileError(path, "(file)", f"cannot read it: {exc}") from exc
    try:
        raw = yaml_io.safe_load(text)
        root = yaml_io.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SkillFileError(path, "(syntax)", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                             mark.line + 1 if mark else None) from exc
    if not isinstance(raw, dict):
        raise SkillFileError(path, "(top level)", "must be a mapping of keys (see skills/_template.yaml)")
    try:
        spec = SkillSpec.model_validate(raw)
    except ValidationError as exc:
        raise error_from_validation(path, exc, root) from exc
    if path.stem != spec.id:
        raise SkillFileError(path, "id", f"'{spec.id}' must match the file name ({path.stem}.yaml)", line_of(root, ["id"]))
    spec._source = path
    spec._tree = root
    return spec


def error_from_validation(path: Path, exc: ValidationError, root: Any = None, prefix: tuple[Any, ...] = ()) -> SkillFileError:
    """The first pydantic error as a SkillFileError (all errors are listed in the problem text)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = prefix + tuple(first["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    problem = describe(first)
    if len(errors) > 1:
        others = "; ".join(f"{'.'.join(str(p) for p in prefix + tuple(e['loc']))}: {describe(e)}" for e in errors[1:4])
        problem += f" (also: {others}{' ...' if len(errors) > 4 else ''})"
    return SkillFileError(path, key, problem, line_of(root, list(loc)))


def describe(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (remove it, or check its spelling against skills/_template.yaml)"
    if err["type"] == "missing":
        return "required key is missing"
    got = err.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    return f"{err['msg'].removeprefix('Value error, ')} (got {shown})"


def line_of(root: Any, path: list[Any]) -> int | None:
    """1-based line of the deepest node of `path` found in a composed YAML tree."""
    node, line = root, None
    if root is None:
        return None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


_TEMPLATE_NAME = re.compile(r"^_")


def spec_paths(directory: Path) -> list[Path]:
    """Skill files in a folder: *.yaml, sorted, skipping names starting with '_' (the template)."""
    return sorted(p for p in directory.glob("*.yaml") if not _TEMPLATE_NAME.match(p.name))


def load_specs(directory: Path) -> list[SkillSpec]:
    """Every skill file in `directory`; ids are unique (the file name is the id)."""
    return [load_spec(path) for path in spec_paths(directory)]
