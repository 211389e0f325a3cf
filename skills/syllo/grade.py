"""Grading a syllacrostic answer: a score per word, exact credit for the whole puzzle."""

from __future__ import annotations

import re

from skills.base import Grade

_SEPARATORS = re.compile(r"[\s,;]+")
_NUMBERING = re.compile(r"^(?:\d+[.):]|[-*•])$")
_EDGE_PUNCT = re.compile(r"^[\d.):\-*•]+|[.!]+$")


def answer_words(answer: str) -> list[str]:
    """DIO's words in order: split on newlines, commas, semicolons and spaces; numbering
    such as '1.' or '-' dropped; lowercase."""
    words = []
    for token in _SEPARATORS.split(answer.strip()):
        if not token or _NUMBERING.match(token):
            continue
        words.append(_EDGE_PUNCT.sub("", token).lower())
    return words


def grade_words(golden: list[str], answer: str) -> Grade:
    """score = share of positions holding the right word; correct = every word right
    and nothing else."""
    given = answer_words(answer)
    right = sum(1 for g, a in zip(golden, given) if g == a)
    score = right / len(golden) if golden else 0.0
    correct = right == len(golden) and len(given) == len(golden)
    if correct:
        detail = f"all {len(golden)} words"
    else:
        extra = f", {len(given) - len(golden)} extra" if len(given) > len(golden) else ""
        detail = f"{right}/{len(golden)} words right{extra}"
    return Grade(correct=correct, score=score, detail=detail)
