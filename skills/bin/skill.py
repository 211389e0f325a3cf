"""BinSkill: Binary Alchemy, arithmetic in circled binary."""

from __future__ import annotations

import random
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skills.base import Grade, Problem
from skills.bin.forms import DRAW, FORMS, NEEDS_SMALL, Form, count_form, largest_number
from skills.bin.notation import CIRCLED_NUMBER, decoded, from_circled, in_register
from skills.generated import GeneratedSkill, Made
from skills.spec import SkillSpec


TWO_OPERANDS = re.compile(r"^([⓪①]+) ([-+×÷?]) ([⓪①]+)(?: =)?$")  # an expr has 3+ operands
OPERATOR_FORM = {"+": "add", "-": "sub", "×": "mul", "÷": "div", "?": "cmp"}


class BinLevel(BaseModel):
    """One BIN level (a row of `levels:` in skills/bin.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    forms: list[Form] = Field(min_length=1, description="problem forms, drawn with equal odds")
    max: int = Field(ge=1, le=2**40, description="largest operand")
    min: int = Field(1, ge=0, description="smallest operand")
    small: int = Field(0, ge=0, le=2**20, description="largest small factor / divisor (mul, div, cmpx, expr)")
    terms: int = Field(3, ge=3, le=8, description="operands of an expr")
    width: int | None = Field(
        None, ge=1, le=64,
        description="register width in bits: every number is written with this many (leading ⓪s); "
        "default: the narrowest register the level's largest number fits",
    )

    def narrowest_width(self) -> int:
        """Bits of the largest number (operand or answer) any of the level's forms can write."""
        top = max(largest_number(f, self.min, self.max, self.small, self.terms) for f in self.forms)
        return max(1, top.bit_length())

    def register_width(self) -> int:
        return self.width if self.width is not None else self.narrowest_width()

    @field_validator("forms")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("list each form once")
        return v


class BinSkill(GeneratedSkill):
    GENERATOR_ID = "skills.bin"
    # 2: no training stream draws a held-out evaluation problem of any level
    # 3: numbers are written in the level's fixed-width register (same draws, padded)
    GENERATOR_VERSION = "3"
    LevelParams = BinLevel
    PROMPT_FIELDS = frozenset({"question"})

    def __init__(self, spec: SkillSpec) -> None:
        super().__init__(spec)
        self._draws = {n: [DRAW[f] for f in p.forms] for n, p in self.levels.items()}
        self._widths = {n: p.register_width() for n, p in self.levels.items()}

    def check_level(self, params: BinLevel) -> str | None:
        if params.min > params.max:
            return f"min ({params.min}) must not exceed max ({params.max})"
        needs = sorted(NEEDS_SMALL & set(params.forms))
        if needs and params.small < 2:
            return f"forms {needs} need small >= 2 (the largest small factor or divisor)"
        narrowest = params.narrowest_width()
        if params.width is not None and params.width < narrowest:
            return (f"width {params.width} is too narrow: the level's largest number needs {narrowest} bits "
                    f"(set width: {narrowest} or more, or leave width out)")
        return None

    def make(self, level: int, params: BinLevel, rng: random.Random) -> Made:
        draws = self._draws[level]
        draw = draws[rng.randrange(len(draws))] if len(draws) > 1 else draws[0]
        question, answer, gloss = draw(rng, params.min, params.max, params.small, params.terms)
        width = self._widths[level]
        return Made({"question": in_register(question, width)}, in_register(answer, width), None, gloss)

    def grade(self, problem: Problem, answer: str) -> Grade:
        """Exact: the golden answer with any surrounding whitespace, nothing else. The detail reads
        both in decimal ("= 35 ✓", "= 34 ✗, expected 35"), as the Oracle's quiz shows them."""
        expected = decoded(problem.answer)
        if answer.strip() == problem.answer:
            return Grade(correct=True, score=1.0, detail=f"= {expected} ✓")
        got = answer.strip()
        if not CIRCLED_NUMBER.search(got):  # not a number at all: show what came back
            shown = got if len(got) <= 40 else got[:37] + "..."
            return Grade(correct=False, score=0.0, detail=f"got {shown!r} ✗, expected {expected} ({problem.answer})")
        shown = decoded(got)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return Grade(correct=False, score=0.0, detail=f"= {shown} ✗, expected {expected}")

    def space_size(self, level: int) -> int:
        self.require_level(level)
        p = self.levels[level]
        return sum(count_form(f, p.min, p.max, p.small, p.terms) for f in p.forms)

    def may_make(self, level: int, key: str) -> bool:
        """Exact for the two-operand forms; True for anything an expression might make."""
        p = self.levels[level]
        match = TWO_OPERANDS.match(key)
        if match is None:
            return bool({"expr", "cmpx"} & set(p.forms))
        if {len(match[1]), len(match[3])} != {self._widths[level]}:
            return False  # written in another register
        a, op, b = from_circled(match[1]), match[2], from_circled(match[3])
        form = OPERATOR_FORM[op]
        if form not in p.forms:
            return False
        lo, hi = p.min, p.max
        if form == "mul":
            return lo <= a <= hi and 2 <= b <= p.small
        if form == "div":
            return 2 <= b <= p.small and a % b == 0 and lo <= a // b <= hi
        return lo <= a <= hi and lo <= b <= hi and (form != "sub" or a >= b)

    def summary(self, params: BinLevel) -> str:
        parts = [", ".join(params.forms), f"operands {params.min}-{params.max}", f"{params.register_width()}-bit registers"]
        if NEEDS_SMALL & set(params.forms):
            parts.append(f"small factors 2-{params.small}")
        if "expr" in params.forms:
            parts.append(f"{params.terms}-term expressions")
        return "; ".join(parts)


def create_skill(spec: SkillSpec) -> BinSkill:
    return BinSkill(spec)


__all__ = ["BinLevel", "BinSkill", "FORMS", "create_skill"]
