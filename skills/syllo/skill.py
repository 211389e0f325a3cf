"""SySkill: Word Weaving, syllacrostic puzzles."""

from __future__ import annotations

import random
from math import prod
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skills.base import Grade, Problem
from skills.generated import GeneratedSkill, Made
from skills.spec import SkillSpec
from skills.syllo.grade import grade_words
from skills.syllo.puzzle import level_hidden_words, level_target_counts, make_record
from skills.syllo.render import golden_answer, prompt_fields


class SyLevel(BaseModel):
    """One SY level (a row of `levels:` in skills/sy.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: int = Field(ge=4, le=14, description="target words = letters of the hidden word")
    hint: Literal["pattern", "acrostic"] = Field(description="pattern: letters shown; acrostic: first letter only")
    reveal: float = Field(0.0, ge=0.0, le=1.0, description="pattern: share of the letters after the first shown")
    min_syllables: int = Field(2, ge=2, le=7)
    max_syllables: int = Field(2, ge=2, le=7)
    vocab: int = Field(ge=200, le=40000, description="targets come from this many most frequent multi-syllable words")
    distractors: int = Field(0, ge=0, le=64, description="extra syllables in the pool")

    @model_validator(mode="after")
    def _range(self) -> "SyLevel":
        if self.min_syllables > self.max_syllables:
            raise ValueError(f"min_syllables ({self.min_syllables}) exceeds max_syllables ({self.max_syllables})")
        return self


class SySkill(GeneratedSkill):
    GENERATOR_ID = "skills.syllo"
    GENERATOR_VERSION = "3"  # 2: no training stream draws a held-out evaluation problem; 3: levels 1-3 an on-ramp
    LevelParams = SyLevel
    PROMPT_FIELDS = frozenset({"count", "syllables", "clues"})
    FORMATS = ("chat_sft_v1", "syllo_v1")

    def check_level(self, params: SyLevel) -> str | None:
        hidden = level_hidden_words(params)
        if len(hidden) < 20:
            return (f"only {len(hidden)} hidden words of {params.words} letters fit this vocabulary; "
                    "raise vocab, widen the syllable range or use fewer words")
        return None

    def make(self, level: int, params: SyLevel, rng: random.Random) -> Made:
        record = make_record(params, rng, level, "")
        hidden = record["hidden"]
        return Made(prompt_fields(record), golden_answer(record), record, f"hidden word: {hidden.upper()}")

    def assemble(self, problem_id: str, level: int, made: Made) -> Problem:
        assert made.record is not None
        made.record["id"] = problem_id
        return super().assemble(problem_id, level, made)

    def key_of(self, problem: Problem) -> str:
        """Two puzzles with the same target words are the same puzzle."""
        return problem.answer

    def grade(self, problem: Problem, answer: str) -> Grade:
        return grade_words(problem.answer.split("\n"), answer)

    def may_share(self, level: int, other: int) -> bool:
        """A puzzle's key is its target words: puzzles of different word counts never share one."""
        return self.levels[level].words == self.levels[other].words

    def space_size(self, level: int) -> int:
        """Ordered tuples of distinct target words over all hidden words (see puzzle.py):
        sum over hidden words of the product, per letter, of the falling factorial
        (candidates - 1) * (candidates - 2) ... (one per use of the letter; the -1 leaves out
        the hidden word itself)."""
        return self._count_space(level, None)

    def space_at_least(self, level: int, n: int) -> bool:
        return self._count_space(level, n) >= n

    def _count_space(self, level: int, stop_at: int | None) -> int:
        """space_size, stopping once the running total reaches stop_at (`realm skill sample` asks
        only whether each of 50 levels holds 500 puzzles: it is past that after one hidden word)."""
        self.require_level(level)
        params = self.levels[level]
        counts = level_target_counts(params)
        total = 0
        for hidden in level_hidden_words(params):
            factors = []
            for ch in set(hidden):
                c = counts[ch] - 1
                factors.extend(c - k for k in range(hidden.count(ch)))
            total += prod(factors)
            if stop_at is not None and total >= stop_at:
                break
        return total

    def summary(self, params: SyLevel) -> str:
        syl = (f"{params.min_syllables}" if params.min_syllables == params.max_syllables
               else f"{params.min_syllables}-{params.max_syllables}")
        hint = f"{round(params.reveal * 100)}% of letters shown" if params.hint == "pattern" else "first letter only"
        if params.hint == "pattern" and params.reveal == 0:
            hint = "first letter + letter count"
        return (f"{params.words} words of {syl} syllables from the top {params.vocab}; {hint}; "
                f"{params.distractors} distractor syllables")


def create_skill(spec: SkillSpec) -> SySkill:
    return SySkill(spec)
