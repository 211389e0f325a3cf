"""BIN: every level generates and grades; golden answers pass, perturbed ones fail;
level 1 is small and compact; from level 5 up every level has > 1M problems."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills.bin import from_circled, to_circled
from skills.bin.notation import CIRCLED_NUMBER, ONE, ZERO, in_register

WHITESPACE = st.text(alphabet=" \t\n\r", max_size=4)
NOISE = st.sampled_from([ZERO, ONE, "0", "1", " ", "=", "-", ".", "a", "<", ">", "\n"])


def test_notation_round_trips() -> None:
    assert to_circled(0) == ZERO and to_circled(5) == ONE + ZERO + ONE
    assert all(from_circled(to_circled(n)) == n for n in range(0, 5000, 7))
    with pytest.raises(ValueError):
        from_circled("1O1")


@pytest.mark.parametrize("level", range(1, 31))
def test_every_level_generates_and_grades(bin_skill, level: int) -> None:
    problems = bin_skill.sample(level, 40, seed=level)
    assert len(problems) == 40 and len({p.id for p in problems}) == 40
    for p in problems:
        assert p.skill == "bin" and p.level == level
        assert [m.role for m in p.messages] == ["user"]  # no system prompt
        assert p.answer and p.answer.strip() == p.answer
        assert set(p.answer) <= {ZERO, ONE} or p.answer in "<=>"
        assert bin_skill.grade(p, p.answer).correct
        assert not bin_skill.grade(p, p.answer + ONE).correct
        chat = p.to_chat()
        assert chat["messages"][-1] == {"role": "assistant", "content": p.answer}
        check_arithmetic(p.prompt_text, p.answer)


def check_arithmetic(prompt: str, answer: str) -> None:
    """Recompute the answer from the prompt in decimal, with Python's precedence."""
    py = CIRCLED_NUMBER.sub(lambda m: str(from_circled(m.group())), prompt.removesuffix(" ="))
    py = py.replace("×", "*").replace("÷", "//")
    if " ? " in py:
        left, right = (eval(side) for side in py.split(" ? "))  # noqa: S307 (our own arithmetic)
        assert answer == ("<" if left < right else ">" if left > right else "=")
    else:
        assert from_circled(answer) == eval(py)  # noqa: S307


def test_level_one_is_small_and_compact(bin_skill) -> None:
    problems = bin_skill.sample(1, 3000, seed=0)
    prompts = {p.prompt_text for p in problems}
    # 10 x 10 additions less other levels' held-out evaluation sums among them
    in_level_one = [k for k in bin_skill.held_out_keys() if bin_skill.may_make(1, k)]
    assert bin_skill.space_size(1) == 100
    assert len(prompts) == bin_skill.count_distinct(1) == 100 - len(in_level_one)
    for p in problems:
        a, b = p.prompt_text.removesuffix(" =").split(" + ")
        assert 1 <= from_circled(a) <= 10 and 1 <= from_circled(b) <= 10
        assert len(a) == len(b) == len(p.answer) == 5  # the 5-bit register of 10 + 10 = 20


def test_level_curve_grows(bin_skill) -> None:
    maxes = [bin_skill.levels[n].max for n in range(1, 31)]
    assert maxes[0] == 10 and maxes[-1] >= 100_000
    assert bin_skill.levels[1].forms == ["add"] and bin_skill.levels[4].forms == ["sub"]
    first = {form: min(n for n in range(1, 31) if form in bin_skill.levels[n].forms) for form in
             ("add", "sub", "mul", "div", "cmp", "cmpx", "expr")}
    assert first["add"] < first["sub"] < first["mul"] < first["div"] < first["cmp"] < first["expr"]


@pytest.mark.parametrize("level", range(5, 31))
def test_more_than_a_million_problems_from_level_5(bin_skill, level: int) -> None:
    assert bin_skill.count_distinct(level) > 1_000_000


def test_counts_are_lower_bounds_on_small_levels(bin_skill) -> None:
    for level in (1, 2):
        seen = {p.prompt_text for p in bin_skill.sample(level, 12_000, seed=9)}
        assert len(seen) <= bin_skill.count_distinct(level)
    assert len({p.prompt_text for p in bin_skill.sample(2, 12_000, seed=9)}) == bin_skill.count_distinct(2)


@settings(max_examples=150, deadline=None)
@given(level=st.integers(1, 30), seed=st.integers(0, 2**32), index=st.integers(0, 10**6),
       left=WHITESPACE, right=WHITESPACE)
def test_golden_answer_passes_with_any_surrounding_whitespace(bin_skill, level, seed, index, left, right) -> None:
    (p,) = bin_skill.sample(level, 1, seed, start=index)
    grade = bin_skill.grade(p, left + p.answer + right)
    assert grade.correct and grade.score == 1.0


@settings(max_examples=300, deadline=None)
@given(level=st.integers(1, 30), seed=st.integers(0, 2**32), index=st.integers(0, 10**6),
       op=st.sampled_from(["insert", "delete", "replace"]), where=st.integers(0, 10**4), noise=NOISE)
def test_perturbed_answer_fails(bin_skill, level, seed, index, op, where, noise) -> None:
    (p,) = bin_skill.sample(level, 1, seed, start=index)
    golden = p.answer
    i = where % (len(golden) + (1 if op == "insert" else 0))
    if op == "insert":
        bad = golden[:i] + noise + golden[i:]
    elif op == "delete":
        bad = golden[:i] + golden[i + 1:]
    else:
        bad = golden[:i] + noise + golden[i + 1:]
    if bad.strip() == golden:
        return  # only surrounding whitespace changed (or a no-op replace): still right
    grade = bin_skill.grade(p, bad)
    assert not grade.correct and grade.score == 0.0


@pytest.mark.parametrize("level", range(1, 31))
def test_every_number_fills_the_level_register(bin_skill, level: int) -> None:
    width = bin_skill.levels[level].register_width()
    problems = bin_skill.sample(level, 300, seed=100 + level) + bin_skill.eval_set(level)
    for p in problems:
        numbers = CIRCLED_NUMBER.findall(p.prompt_text) + CIRCLED_NUMBER.findall(p.answer)
        assert numbers and {len(n) for n in numbers} == {width}, (p.prompt_text, p.answer)
    # the register is the narrowest the level's largest number fits: some number uses its top bit
    tops = [n for p in bin_skill.sample(level, 3000, seed=7) for n in CIRCLED_NUMBER.findall(p.prompt_text + p.answer)]
    assert max(from_circled(n) for n in tops).bit_length() >= width - 2


def test_registers_line_bits_up() -> None:
    assert in_register("①⓪① + ① =", 4) == "⓪①⓪① + ⓪⓪⓪① ="
    assert in_register("<", 4) == "<"
    with pytest.raises(ValueError, match="does not fit a 2-bit register"):
        in_register("①⓪①", 2)


def test_problems_of_another_register_are_not_counted_for_a_level(bin_skill) -> None:
    level_two = bin_skill.eval_set(2)[0].prompt_text  # a 6-bit sum
    a, b = level_two.removesuffix(" =").split(" + ")
    assert bin_skill.may_make(2, level_two)
    assert not bin_skill.may_make(3, level_two)  # level 3 writes 8 bits
    assert bin_skill.may_make(3, f"{ZERO * 2}{a} + {ZERO * 2}{b} =")
