"""DEEP: the answer-leak rule, evaluation overlap, near-duplicates."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from backend.validation import EvalIndex, ValidationLimits, skills_eval_index, validate_quest
from backend.validation.deep import NearDupIndex, find_leak, oph_signature, shingle_hashes
from backend.validation.spec import Example
from validation.corpus import chat, eval_problem, jsonl


@pytest.mark.parametrize(
    "answer,prompt,leaks",
    [
        ("Mount Kilimanjaro", "The answer is mount   KILIMANJARO. Which mountain?", True),  # case and spaces normalised
        ("Mount Kilimanjaro", "Which is the highest mountain in Africa?", False),
        ("yes", "Answer yes or no: is the sky blue?", False),  # too short to prove anything
        ("42", "What is 40 + 2? (hint: 42)", False),
        ("10110011", "Add 1011 and 10110011001", False),  # inside a longer number: not a whole unit
        ("10110011", "What is 10110011 + 0?", True),
        ("category", "Which category?", True),
        ("categorical", "Pick a category for the data", False),
        ("(a + b)^2", "Expand x(a + b)^2.", True),  # the answer starts with "(": no boundary needed on that side
        ("willing\nedward\nbecomes\nbelow", "Words: willing edward becomes below. Order them.", True),
    ],
)
def test_leak_rule(answer: str, prompt: str, leaks: bool) -> None:
    assert (find_leak(answer, prompt, 8) is not None) == leaks


def test_leak_uses_every_turn_before_the_answer(tmp_path: Path) -> None:
    rec = {"messages": [
        {"role": "system", "content": "Secret: the password is swordfish42."},
        {"role": "user", "content": "What is the password?"},
        {"role": "assistant", "content": "swordfish42"},
    ]}
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(rec))
    r = validate_quest(path, level="deep", max_bad_fraction=1.0)
    assert r.bad_lines[0].code == "answer_leak"
    limits = ValidationLimits(leak_min_chars=20)
    assert validate_quest(path, level="deep", limits=limits).verdict == "pass"


def test_completion_leak(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl({"prompt": "Repeat: the cat sat on the mat\n", "completion": "the cat sat on the mat"}))
    r = validate_quest(path, level="deep", max_bad_fraction=1.0)
    assert r.bad_lines[0].code == "answer_leak"


def test_eval_overlap_after_whitespace_normalisation(tmp_path: Path) -> None:
    problem = eval_problem()
    assert skills_eval_index().lookup(problem.prompt_text) == problem.id
    spaced = "  " + problem.prompt_text.replace(" ", "   \t") + "\n"
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(chat("a different question entirely", "fine"), chat(spaced, "whatever")))
    r = validate_quest(path, level="deep", max_bad_fraction=1.0)
    assert [(b.line, b.code) for b in r.bad_lines] == [(2, "eval_overlap")]
    assert problem.id in r.bad_lines[0].message


def test_custom_eval_index(tmp_path: Path) -> None:
    index = EvalIndex.from_pairs([("What is the capital of France?", "geo/1")])
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(chat("what is the capital of France?", "Paris"), chat("What is the capital  of France?", "Paris.")))
    r = validate_quest(path, level="deep", eval_index=index, max_bad_fraction=1.0)
    assert [(b.line, b.code) for b in r.bad_lines] == [(2, "eval_overlap")]  # case matters, whitespace does not
    # completion_v1 prompts are checked too
    comp = tmp_path / "c.jsonl"
    comp.write_bytes(jsonl({"prompt": "What is the capital of France?", "completion": "Paris"}))
    assert validate_quest(comp, level="deep", eval_index=index).bad_lines[0].code == "eval_overlap"


def _doc(rng: random.Random, n: int) -> list[str]:
    vocab = [f"w{i}" for i in range(3000)]
    return [rng.choice(vocab) for _ in range(n)]


def test_near_duplicates_found_and_distinct_texts_not(tmp_path: Path) -> None:
    rng = random.Random(1)
    lines = []
    originals = []
    for _ in range(300):
        words = _doc(rng, 60)
        originals.append(words)
        lines.append(chat(" ".join(words[:40]), " ".join(words[40:])))
    planted = {}
    for k in range(20):  # near-duplicates: one or two words changed in 60 (Jaccard about 0.9 and 0.82)
        src = rng.randrange(300)
        words = list(originals[src])
        for _ in range(1 if k % 2 else 0):
            words[rng.randrange(60)] = "changed"
        words[rng.randrange(5, 55)] = "altered"
        planted[len(lines) + 1] = src + 1
        lines.append(chat(" ".join(words[:40]), " ".join(words[40:])))
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(*lines))
    r = validate_quest(path, level="deep", max_bad_fraction=1.0, limits=ValidationLimits(near_dup_threshold=0.8))
    found = {b.line: b for b in r.bad_lines}
    assert r.reason_counts.get("near_duplicate", 0) >= 18  # OPH-LSH finds nearly all (true J 0.82-0.9)
    assert set(r.bad_line_codes()) <= set(planted)  # no false positives among the 300 distinct texts
    for line, b in found.items():
        assert b.code == "near_duplicate" and f"line {planted[line]}" in b.message


def test_template_text_is_not_a_near_duplicate(tmp_path: Path) -> None:
    """Generated prompts share long instructions: shingles common to many examples are ignored."""
    rng = random.Random(2)
    instructions = (
        "Read the following list of words carefully and then answer with the words sorted in alphabetical order "
        "separated by single spaces and nothing else please do not add any explanation"
    )
    lines = [chat(instructions + ": " + " ".join(_doc(rng, 6)), " ".join(_doc(rng, 6))) for _ in range(400)]
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(*lines))
    r = validate_quest(path, level="deep")
    assert r.verdict == "pass", (r.summary, r.bad_lines[:2])


def test_short_texts_are_not_compared(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(chat("What is two plus two?", "Four."), chat("What is two plus three?", "Four.")))
    assert validate_quest(path, level="deep").verdict == "pass"


def test_oph_signature_estimates_jaccard() -> None:
    rng = random.Random(3)
    a = set(_doc(rng, 400))
    b = set(sorted(a)[:300]) | set(_doc(rng, 100))
    true_j = len(a & b) / len(a | b)
    ha = shingle_hashes(" ".join(sorted(a)), 4)
    assert ha is not None
    # a fixed 64-bit hash per word (Python's str hash changes with every process)
    def h(word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    sa, sb = oph_signature({h(x) for x in a}), oph_signature({h(x) for x in b})
    est = sum(x == y for x, y in zip(sa, sb)) / len(sa)
    assert abs(est - true_j) < 0.15


def test_near_dup_index_directly() -> None:
    idx = NearDupIndex(threshold=0.85, min_words=10)
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma"
    exs = [
        Example(1, 0, b"", [("user", text), ("assistant", "ok")], text, "ok"),
        Example(2, 0, b"", [("system", "x"), ("user", text), ("assistant", "ok")], text, "ok"),
        Example(3, 0, b"", [("user", "completely different words here now " * 3), ("assistant", "ok")], "", "ok"),
    ]
    found = idx.check_batch(exs)
    assert found == {2: (1, 1.0)}
