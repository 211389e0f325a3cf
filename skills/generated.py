"""GeneratedSkill: the shared machinery of built-in skills.

Determinism: problem i of the stream (level, seed) is made from its own
random.Random, seeded by a blake2b hash of
``(seed space, skill id, level, seed, index, attempt)``. Training uses the seed
space "train"; evaluation sets use "eval" with the evaluation seed from the
YAML file. Both spaces run through the same hash with a different first field,
so no training stream ever replays an evaluation stream.

Disjointness is also checked on content for every level with at least
`evaluation.hold_out_min` distinct problems (500 by default): a training problem
whose key (the prompt for BIN, the word list for SY) equals one in such a level's
evaluation set, whatever the level being generated, is replaced by the next
attempt of the same index (still deterministic). Those evaluation problems test
generalisation, and no quest trains them: a level-3 quest never trains a level-2
evaluation sum. A smaller level is a closed set mastered whole (BIN level 1: the
100 sums of 1-10): its evaluation problems stay in their own seed space, and
training may also draw them.

A subclass provides `LevelParams` (a pydantic model of one level's
parameters), `PROMPT_FIELDS`, `make(level, params, rng)`, `grade`,
`space_size(level)`, `summary(params)` and optionally `key_of(problem)`,
`may_make(level, key)` and `may_share(level, other)`.
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from skills.base import ChatMessage, Grade, LevelInfo, LevelOutOfRange, Problem, SkillError, SkillInfo
from skills.spec import SkillFileError, SkillSpec, error_from_validation, line_of, placeholders

TRAIN_SPACE = "train"
EVAL_SPACE = "eval"
MAX_ATTEMPTS = 64
MAX_COUNT = 10_000_000


def rng_for(space: str, skill: str, level: int, seed: int, index: int, attempt: int = 0) -> random.Random:
    """The private random stream of one problem."""
    digest = hashlib.blake2b(f"{space}|{skill}|{level}|{seed}|{index}|{attempt}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass(slots=True)
class Made:
    """What a generator makes for one problem (before the id and messages are attached)."""

    question: dict[str, str]  # the prompt template's placeholders
    answer: str
    record: dict[str, Any] | None = None
    note: str | None = None


class GeneratedSkill(ABC):
    GENERATOR_ID: ClassVar[str]
    GENERATOR_VERSION: ClassVar[str]
    LevelParams: ClassVar[type[BaseModel]]
    PROMPT_FIELDS: ClassVar[frozenset[str]]
    FORMATS: ClassVar[tuple[str, ...]] = ("chat_sft_v1",)

    def __init__(self, spec: SkillSpec) -> None:
        assert spec.levels is not None and spec.prompt is not None and spec.evaluation is not None
        self.spec = spec
        self.levels: dict[int, Any] = {}
        where = spec.source or f"{spec.id}.yaml"
        for number, raw in sorted(spec.levels.items()):
            try:
                self.levels[number] = self.LevelParams.model_validate(raw)
            except ValidationError as exc:
                raise error_from_validation(where, exc, spec.tree, prefix=("levels", number)) from exc
            problem = self.check_level(self.levels[number])
            if problem:
                raise SkillFileError(where, f"levels.{number}", problem, line_of(spec.tree, ["levels", number]))
        unknown = placeholders(spec.prompt.user) - self.PROMPT_FIELDS
        if unknown:
            raise SkillFileError(where, "prompt.user", f"unknown placeholder(s) {sorted(unknown)}; "
                                 f"this generator fills {sorted(self.PROMPT_FIELDS)}", line_of(spec.tree, ["prompt", "user"]))
        self._system = ChatMessage(role="system", content=spec.prompt.system) if spec.prompt.system else None
        self._eval_cache: dict[int, list[Problem]] = {}
        self._eval_keys: dict[int, frozenset[str]] = {}
        self._held_out_for: dict[int, frozenset[str]] = {}

    # ----- what a subclass provides -------------------------------------------------
    @abstractmethod
    def make(self, level: int, params: Any, rng: random.Random) -> Made: ...

    @abstractmethod
    def grade(self, problem: Problem, answer: str) -> Grade: ...

    @abstractmethod
    def space_size(self, level: int) -> int:
        """A lower bound on the distinct problems a level's parameters make (evaluation
        problems included), computed without enumerating them."""

    def count_distinct(self, level: int) -> int:
        """A lower bound on the distinct problems training draws at a level."""
        return max(0, self.space_size(level) - self.excluded_at(level))

    def space_at_least(self, level: int, n: int) -> bool:
        """space_size(level) >= n; a subclass may stop counting once it knows."""
        return self.space_size(level) >= n

    def holds_out(self, level: int) -> bool:
        """Whether the level's evaluation problems are kept out of all training."""
        assert self.spec.evaluation is not None
        return self.space_at_least(level, self.spec.evaluation.hold_out_min)

    @abstractmethod
    def summary(self, params: Any) -> str: ...

    def may_make(self, level: int, key: str) -> bool:
        """Whether the level could draw the problem with this key. True when unsure: it
        is used to subtract held-out evaluation problems from `count_distinct`, a lower bound."""
        return True

    def excluded_at(self, level: int) -> int:
        """How many held-out evaluation problems (of any level) the level might otherwise draw."""
        return sum(1 for key in self.held_out_keys() if self.may_make(level, key))

    def check_level(self, params: Any) -> str | None:
        """A problem with one level's parameters beyond their model, or None."""
        return None

    # ----- the Skill interface ---------------------------------------------------------
    @cached_property
    def info(self) -> SkillInfo:
        s = self.spec
        assert s.evaluation is not None
        return SkillInfo(
            id=s.id, name=s.name, icon=s.icon, colour=s.colour, description=s.description.strip(),
            max_level=s.max_level, generator_id=self.GENERATOR_ID, generator_version=self.GENERATOR_VERSION,
            eval_per_level=s.evaluation.per_level, formats=list(self.FORMATS),
            levels=[LevelInfo(level=n, summary=self.summary(p), params=p.model_dump()) for n, p in sorted(self.levels.items())],
        )

    def sample(self, level: int, count: int, seed: int, start: int = 0) -> list[Problem]:
        return list(self.iter_sample(level, count, seed, start))

    def iter_sample(self, level: int, count: int, seed: int, start: int = 0) -> Iterator[Problem]:
        """Training problems start..start+count-1 of the stream (level, seed), lazily."""
        self.require_level(level)
        if not 0 <= count <= MAX_COUNT or start < 0:
            raise SkillError(f"count must be 0-{MAX_COUNT} and start >= 0 (got count={count}, start={start})")
        excluded = self.held_out_keys_for(level)
        for index in range(start, start + count):
            yield self.problem(TRAIN_SPACE, level, seed, index, excluded)

    def eval_set(self, level: int) -> list[Problem]:
        self.require_level(level)
        cached = self._eval_cache.get(level)
        if cached is None:
            cached = self._build_eval_set(level)
            self._eval_cache[level] = cached
        return list(cached)

    def eval_keys(self, level: int) -> frozenset[str]:
        """The keys of a level's evaluation problems."""
        if level not in self._eval_keys:
            self.eval_set(level)
        return self._eval_keys[level]

    @cached_property
    def _held_out_keys(self) -> frozenset[str]:
        return frozenset().union(*(self.eval_keys(level) for level in self.levels if self.holds_out(level)))

    def held_out_keys(self) -> frozenset[str]:
        """The keys of the held-out levels' evaluation problems: no training stream produces one."""
        return self._held_out_keys

    def may_share(self, level: int, other: int) -> bool:
        """Whether a problem of `level` could have the key of one of `other` (True when unsure)."""
        return True

    def held_out_keys_for(self, level: int) -> frozenset[str]:
        """held_out_keys() restricted to the levels `level` may share problems with: the same
        exclusion for every problem the level can make, without building every level's
        evaluation set (`realm skill sample sy --level 3` needs 8 of SY's 50)."""
        if level not in self._held_out_for:
            self._held_out_for[level] = frozenset().union(*(
                self.eval_keys(other) for other in self.levels if self.may_share(level, other) and self.holds_out(other)))
        return self._held_out_for[level]

    def held_out_eval_set(self, level: int) -> list[Problem]:
        """The level's evaluation problems when they are held out of training, else []."""
        return self.eval_set(level) if self.holds_out(level) else []

    # ----- machinery -------------------------------------------------------------------
    def require_level(self, level: int) -> None:
        if not isinstance(level, int) or not 1 <= level <= self.spec.max_level:
            raise LevelOutOfRange(self.spec.id, level, self.spec.max_level)

    def problem(self, space: str, level: int, seed: int, index: int, excluded: frozenset[str] = frozenset()) -> Problem:
        params = self.levels[level]
        for attempt in range(MAX_ATTEMPTS):
            made = self.make(level, params, rng_for(space, self.spec.id, level, seed, index, attempt))
            problem = self.assemble(f"{self.spec.id}/L{level}/{space}{seed}/{index}", level, made)
            if self.key_of(problem) not in excluded:
                return problem
        raise SkillError(f"{self.spec.id} level {level}: no problem outside the evaluation set after {MAX_ATTEMPTS} attempts")

    def assemble(self, problem_id: str, level: int, made: Made) -> Problem:
        assert self.spec.prompt is not None
        user = ChatMessage.model_construct(role="user", content=self.spec.prompt.user.format_map(made.question))
        messages = [self._system, user] if self._system else [user]
        return Problem.model_construct(
            skill=self.spec.id, level=level, id=problem_id, messages=messages,
            answer=made.answer, record=made.record, note=made.note,
        )

    def _build_eval_set(self, level: int) -> list[Problem]:
        assert self.spec.evaluation is not None
        want, seed = self.spec.evaluation.per_level, self.spec.evaluation.seed
        problems: list[Problem] = []
        keys: set[str] = set()
        params = self.levels[level]
        index = 0
        while len(problems) < want:
            if index >= want * MAX_ATTEMPTS:
                raise SkillError(f"{self.spec.id} level {level}: cannot find {want} distinct evaluation problems")
            made = self.make(level, params, rng_for(EVAL_SPACE, self.spec.id, level, seed, index))
            problem = self.assemble(f"{self.spec.id}/L{level}/eval/{len(problems)}", level, made)
            key = self.key_of(problem)
            if key not in keys:
                keys.add(key)
                problems.append(problem)
            index += 1
        self._eval_keys[level] = frozenset(keys)
        return problems

    def key_of(self, problem: Problem) -> str:
        """The disjointness key of a problem (default: its user prompt). Two problems
        with the same key count as the same problem for eval/train separation."""
        return problem.prompt_text
