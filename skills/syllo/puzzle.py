"""Making one syllacrostic puzzle (a syllo_v1 record) from a level's parameters.

1. A hidden word of `words` letters is drawn uniformly from the level's hidden words.
2. For each of its letters a target word starting with that letter is drawn
   uniformly from the level's vocabulary (all distinct, none equal to the hidden
   word), so every ordered tuple of such words can come out.
3. `distractors` extra syllables are drawn from the syllables of the vocabulary
   (common syllables more often). The pool is every syllable, sorted.
4. Clues: under hint "pattern" the word with a share `reveal` of its letters
   after the first shown ('_' for the others; reveal 0 leaves the first letter
   and the letter count); under hint "acrostic" only the first letter
   ("c…"), and the prompt names the hidden word. Every clue gives the syllable count.
5. Uniqueness: while some other known word (any multi-syllable word of the data
   file) with the slot's first letter and syllable count could be built from
   pool syllables and fits a slot's clue, that clue is strengthened (acrostic ->
   letter count, then one more letter shown where such a rival differs), so the golden answer is the only
   answer that uses known words. Strengthening never changes which words were
   drawn, so the counts above stay exact.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from skills.syllo.words import Vocabulary, Word, by_first_syllables, hidden_words, target_counts, vocabulary

HIDDEN_TOP = 12000  # hidden words come from the 12,000 most frequent words
ELLIPSIS = "…"


def level_vocabulary(params: Any) -> Vocabulary:
    return vocabulary(params.vocab, params.min_syllables, params.max_syllables, params.words, HIDDEN_TOP)


def level_target_counts(params: Any) -> dict[str, int]:
    """First letter -> len(level_vocabulary(params).targets_by_letter[letter]), without building them."""
    return target_counts(params.vocab, params.min_syllables, params.max_syllables)


def level_hidden_words(params: Any) -> tuple[str, ...]:
    """level_vocabulary(params).hidden_words, without building the rest."""
    return hidden_words(params.vocab, params.min_syllables, params.max_syllables, params.words, HIDDEN_TOP)


def fits(word: str, clue: str) -> bool:
    """Does `word` match a clue ('c_nd_e' pattern, or 'c…' first letter only)?"""
    if clue.endswith(ELLIPSIS):
        return word[:1] == clue[:1]
    return len(word) == len(clue) and all(c == "_" or c == w for c, w in zip(clue, word))


def first_clue(word: str, hint: str, reveal: float, rng: random.Random) -> str:
    if hint == "acrostic":
        return word[0] + ELLIPSIS
    hidden_count = round((len(word) - 1) * (1.0 - reveal))
    hide = set(rng.sample(range(1, len(word)), hidden_count)) if hidden_count else set()
    return "".join("_" if i in hide else ch for i, ch in enumerate(word))


def strengthen(word: str, clue: str, fitting: list[str], rng: random.Random) -> str:
    """A stronger clue: a first-letter clue gains the letter count; a pattern shows one
    more letter, chosen among the positions where some fitting rival differs."""
    if clue.endswith(ELLIPSIS):
        return word[0] + "_" * (len(word) - 1)
    telling = [i for i, c in enumerate(clue) if c == "_" and any(r[i] != word[i] for r in fitting)]
    i = telling[rng.randrange(len(telling))]
    return clue[:i] + word[i] + clue[i + 1:]


def rivals(word: Word, pool: set[str], starts: dict[str, list[str]]) -> list[str]:
    """Known words other than `word`, with its first letter and syllable count, that can
    be built from pool syllables (each syllable is only checked for presence)."""
    index = by_first_syllables()
    n = len(word.syllables)
    out = []
    for s in starts.get(word.text[0], ()):
        following = index.get((s, n))
        if not following:
            continue
        for second in following.keys() & pool:
            for text, rest in following[second]:
                if text != word.text and (not rest or pool.issuperset(rest)):
                    out.append(text)
    return out


def make_record(params: Any, rng: random.Random, level: int, puzzle_id: str) -> dict[str, Any]:
    vocab = level_vocabulary(params)
    hidden = vocab.hidden_words[rng.randrange(len(vocab.hidden_words))]
    used = {hidden}
    words: list[Word] = []
    for ch in hidden:
        candidates = vocab.targets_by_letter[ch]
        while True:
            w = candidates[rng.randrange(len(candidates))]
            if w.text not in used:
                break
        used.add(w.text)
        words.append(w)
    source = vocab.syllable_pool
    distractors = [source[rng.randrange(len(source))] for _ in range(params.distractors)]
    pool = sorted([s for w in words for s in w.syllables] + distractors)
    clues = [first_clue(w.text, params.hint, params.reveal, rng) for w in words]
    pool_set = set(pool)
    starts: dict[str, list[str]] = defaultdict(list)
    for s in pool_set:
        starts[s[0]].append(s)
    for i, w in enumerate(words):
        competing = rivals(w, pool_set, starts)
        if not competing:
            continue
        clue = clues[i]
        if clue.endswith(ELLIPSIS):  # every rival has the first letter: the letter count is needed
            clue = strengthen(w.text, clue, competing, rng)
        fitting = [r for r in competing if fits(r, clue)]
        while fitting:  # clues only grow, so the rivals that still fit only shrink
            clue = strengthen(w.text, clue, fitting, rng)
            fitting = [r for r in fitting if fits(r, clue)]
        clues[i] = clue
    return {
        "id": puzzle_id,
        "level": level,
        "hidden": hidden,
        "show_hidden": params.hint == "acrostic",
        "words": [{"word": w.text, "syllables": list(w.syllables), "clue": c} for w, c in zip(words, clues)],
        "distractors": distractors,
        "pool": pool,
    }
