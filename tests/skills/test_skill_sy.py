"""SY: every level generates valid syllo_v1 records that render to the same chat as the
problem; golden answers pass, perturbed ones fail; clues fade; > 1M puzzles from level 5."""

from __future__ import annotations

import copy
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills.syllo import syllo_to_chat, validate_syllo
from skills.syllo.grade import answer_words
from skills.syllo.puzzle import ELLIPSIS, fits
from skills.syllo.words import all_words, known_words, multi_syllable


def test_word_data_ships_with_the_package() -> None:
    words = all_words()
    assert len(words) > 30_000 and len(multi_syllable()) > 20_000
    assert all(w.text.isascii() and w.text.isalpha() and w.text.islower() for w in words)
    assert all("".join(w.syllables) == w.text for w in words)


@pytest.mark.parametrize("level", range(1, 51))
def test_every_level_generates_and_grades(sy_skill, level: int) -> None:
    params = sy_skill.levels[level]
    for p in sy_skill.sample(level, 8, seed=level):
        record = p.record
        assert validate_syllo(record) == []
        assert record["id"] == p.id and record["level"] == level
        assert syllo_to_chat(record) == p.to_chat()
        words = p.answer.split("\n")
        assert len(words) == params.words and "".join(w[0] for w in words) == record["hidden"]
        assert len(record["distractors"]) == params.distractors
        for entry in record["words"]:
            assert params.min_syllables <= len(entry["syllables"]) <= params.max_syllables
            assert fits(entry["word"], entry["clue"])
        grade = sy_skill.grade(p, p.answer)
        assert grade.correct and grade.score == 1.0
        wrong = sy_skill.grade(p, "\n".join(reversed(words)))
        assert not wrong.correct and wrong.score < 1.0


def test_clues_fade_with_the_level(sy_skill) -> None:
    def clues(level: int) -> list[tuple[str, str]]:
        return [(e["word"], e["clue"]) for p in sy_skill.sample(level, 60, seed=1) for e in p.record["words"]]

    def shown_share(level: int) -> float:
        pairs = clues(level)
        shown = sum(0 if c.endswith(ELLIPSIS) else sum(ch != "_" for ch in c[1:]) for _, c in pairs)
        return shown / sum(len(w) - 1 for w, _ in pairs)

    def first_letter_only(level: int) -> float:
        pairs = clues(level)
        return sum(c.endswith(ELLIPSIS) for _, c in pairs) / len(pairs)

    # most letters shown, then fewer, then the first letter and the letter count ...
    assert shown_share(1) > 0.7 > shown_share(10) > shown_share(20) > shown_share(30)
    assert shown_share(30) < 0.1 and first_letter_only(30) == 0
    # ... then the acrostic alone, except where a clue must grow to keep the answer unique
    assert first_letter_only(40) > 0.3 and first_letter_only(50) > 0.3 and shown_share(50) < 0.15
    assert sy_skill.levels[1].hint == "pattern" and sy_skill.levels[50].hint == "acrostic"
    assert sy_skill.levels[1].words == 4 and sy_skill.levels[50].words > 4
    assert sy_skill.levels[1].distractors < sy_skill.levels[50].distractors


def test_acrostic_levels_name_the_hidden_word(sy_skill) -> None:
    (p,) = sy_skill.sample(45, 1, seed=0)
    assert f"Hidden word: {p.record['hidden'].upper()}" in p.prompt_text


def test_puzzles_have_one_solution_among_known_words(sy_skill) -> None:
    """No other known word fits a clue from the pool's syllables (brute force over the data)."""
    by_letter: dict[str, list] = {}
    for w in multi_syllable():
        by_letter.setdefault(w.text[0], []).append(w)
    for level in (3, 20, 40, 50):
        for p in sy_skill.sample(level, 5, seed=4):
            pool = set(p.record["pool"])
            for entry in p.record["words"]:
                rivals = [w.text for w in by_letter[entry["word"][0]]
                          if w.text != entry["word"] and len(w.syllables) == len(entry["syllables"])
                          and set(w.syllables) <= pool and fits(w.text, entry["clue"])]
                assert rivals == [], (level, entry, rivals)


@pytest.mark.parametrize("level", range(5, 51))
def test_more_than_a_million_puzzles_from_level_5(sy_skill, level: int) -> None:
    assert sy_skill.count_distinct(level) > 1_000_000


def test_validate_syllo_names_problems(sy_skill) -> None:
    (p,) = sy_skill.sample(12, 1, seed=0)
    good = p.record
    assert validate_syllo(good) == []
    assert validate_syllo([]) == ["a syllo_v1 record is a JSON object (got list)"]
    bad = copy.deepcopy(good)
    bad["extra"] = 1
    del bad["pool"]
    assert validate_syllo(bad) == ["unknown key 'extra'", "missing key 'pool'"]
    bad = copy.deepcopy(good)
    bad["words"][0]["syllables"] = ["x", "y"]
    assert any("do not spell" in m for m in validate_syllo(bad))
    bad = copy.deepcopy(good)
    bad["hidden"] = "zzzzz"
    assert any("not the hidden word" in m for m in validate_syllo(bad))
    bad = copy.deepcopy(good)
    bad["pool"] = bad["pool"][1:]
    assert validate_syllo(bad) == ["'pool' must be exactly the words' syllables plus the distractors"]
    bad = copy.deepcopy(good)
    bad["words"][1]["clue"] = "q" + bad["words"][1]["clue"][1:]
    assert any(m.startswith("words[1]: clue") for m in validate_syllo(bad))
    bad = copy.deepcopy(good)
    bad["level"] = True
    assert validate_syllo(bad) == ["'level' must be int (got bool)"]


def test_answer_parsing_is_lenient_about_layout_only() -> None:
    assert answer_words("1. Apple\n2. lemon\n") == ["apple", "lemon"]
    assert answer_words("apple, lemon; kiwi") == ["apple", "lemon", "kiwi"]
    assert answer_words("- apple\n- lemon.") == ["apple", "lemon"]
    assert answer_words("appl e") == ["appl", "e"]


LAYOUTS = st.sampled_from(["\n", ", ", " ", "\n\n", ";", "\r\n"])


@settings(max_examples=100, deadline=None)
@given(level=st.integers(1, 50), seed=st.integers(0, 2**32), index=st.integers(0, 10**6),
       sep=LAYOUTS, upper=st.booleans(), pad=st.sampled_from(["", " ", "\n", "\t "]))
def test_golden_answer_passes_in_any_layout(sy_skill, level, seed, index, sep, upper, pad) -> None:
    (p,) = sy_skill.sample(level, 1, seed, start=index)
    text = sep.join(p.answer.split("\n"))
    grade = sy_skill.grade(p, pad + (text.upper() if upper else text) + pad)
    assert grade.correct and grade.score == 1.0


@settings(max_examples=200, deadline=None)
@given(level=st.integers(1, 50), seed=st.integers(0, 2**32), index=st.integers(0, 10**6),
       slot=st.integers(0, 100), where=st.integers(0, 100), op=st.sampled_from(["insert", "delete", "replace"]),
       letter=st.sampled_from(string.ascii_lowercase))
def test_perturbed_word_fails_and_costs_exactly_that_word(sy_skill, level, seed, index, slot, where, op, letter) -> None:
    (p,) = sy_skill.sample(level, 1, seed, start=index)
    words = p.answer.split("\n")
    k = slot % len(words)
    w = words[k]
    i = where % (len(w) + (1 if op == "insert" else 0))
    if op == "insert":
        new = w[:i] + letter + w[i:]
    elif op == "delete":
        new = w[:i] + w[i + 1:]
    else:
        new = w[:i] + letter + w[i + 1:]
    if new == w:
        return
    words[k] = new
    grade = sy_skill.grade(p, "\n".join(words))
    assert not grade.correct
    if new:
        assert grade.score == pytest.approx((len(words) - 1) / len(words))


def test_known_words_include_every_target(sy_skill) -> None:
    known = known_words()
    for level in (1, 25, 50):
        for p in sy_skill.sample(level, 5, seed=2):
            assert all(w in known for w in p.answer.split("\n"))
