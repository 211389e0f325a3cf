"""English words split into syllables (skills/data/words_en.txt, built once by
skills/tools/build_words.py from wordfreq + pyphen and committed)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from bisect import bisect_left
from functools import lru_cache
from typing import NamedTuple
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "words_en.txt"


class Word(NamedTuple):  # a tuple: 56,000 of them are made at every load, 3x faster than a frozen dataclass
    text: str
    syllables: tuple[str, ...]
    rank: int  # 0 = most frequent


@lru_cache(maxsize=1)
def all_words() -> tuple[Word, ...]:
    """Every word of the data file, most frequent first."""
    out: list[Word] = []
    with WORDS_FILE.open(encoding="ascii") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = tuple(line.split("-"))
            out.append(Word("".join(parts), parts, len(out)))
    return tuple(out)


@lru_cache(maxsize=1)
def multi_syllable() -> tuple[Word, ...]:
    """Words of 2 or more syllables (puzzle targets), most frequent first."""
    return tuple(w for w in all_words() if len(w.syllables) >= 2)


@lru_cache(maxsize=1)
def by_first_syllables() -> dict[tuple[str, int], dict[str, tuple[tuple[str, tuple[str, ...]], ...]]]:
    """(first syllable, syllable count) -> second syllable -> (word, its remaining syllables),
    over every multi-syllable word: the words a solver might build, used to keep puzzles
    unambiguous. Keyed this way so a pool's syllables filter candidates with one set
    intersection."""
    index: dict[tuple[str, int], dict[str, list[tuple[str, tuple[str, ...]]]]] = defaultdict(lambda: defaultdict(list))
    for w in multi_syllable():
        index[(w.syllables[0], len(w.syllables))][w.syllables[1]].append((w.text, w.syllables[2:]))
    return {k: {s2: tuple(v) for s2, v in d.items()} for k, d in index.items()}


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    return frozenset(w.text for w in all_words())


@dataclass(frozen=True)
class Vocabulary:
    """The words one level draws from."""

    targets_by_letter: dict[str, tuple[Word, ...]]  # first letter -> target words
    hidden_words: tuple[str, ...]  # acrostic words of the level's length
    syllable_pool: tuple[str, ...]  # distractor source (with repeats: common syllables more likely)


@lru_cache(maxsize=256)
def vocabulary(top: int, min_syllables: int, max_syllables: int, length: int, hidden_top: int) -> Vocabulary:
    """Targets: the `top` most frequent multi-syllable words with min..max syllables.
    Hidden words: words of `length` letters among the `hidden_top` most frequent words,
    each letter of which starts enough targets."""
    by_letter: dict[str, list[Word]] = defaultdict(list)
    syllables: list[str] = []
    for w in multi_syllable()[:top]:
        if min_syllables <= len(w.syllables) <= max_syllables:
            by_letter[w.text[0]].append(w)
            syllables.extend(w.syllables)
    targets = {k: tuple(v) for k, v in sorted(by_letter.items())}
    return Vocabulary(targets, hidden_words(top, min_syllables, max_syllables, length, hidden_top), tuple(syllables))


@lru_cache(maxsize=1)
def _target_positions() -> dict[tuple[str, int], list[int]]:
    """(first letter, syllable count) -> positions in multi_syllable() of those words, in order."""
    out: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, w in enumerate(multi_syllable()):
        out[(w.text[0], len(w.syllables))].append(i)
    return dict(out)


@lru_cache(maxsize=256)
def target_counts(top: int, min_syllables: int, max_syllables: int) -> dict[str, int]:
    """First letter -> how many targets `vocabulary` has for it (len of targets_by_letter[letter])."""
    counts: dict[str, int] = defaultdict(int)
    for (ch, syllables), at in _target_positions().items():
        if min_syllables <= syllables <= max_syllables:
            counts[ch] += bisect_left(at, top)
    return {ch: n for ch, n in sorted(counts.items()) if n}


@lru_cache(maxsize=256)
def hidden_words(top: int, min_syllables: int, max_syllables: int, length: int, hidden_top: int) -> tuple[str, ...]:
    """The hidden words of `vocabulary` without building its targets: what a skill load checks
    for each of its 50 levels. A letter with at least length + 2 targets fits any word of this
    length, so only a word's scarcer letters need their counts checked."""
    counts = target_counts(top, min_syllables, max_syllables)
    plenty = frozenset(ch for ch, n in counts.items() if n >= length + 2)
    out = []
    for text, letters in words_of_length(length, hidden_top):
        scarce = letters - plenty
        if scarce and not all(counts.get(ch, 0) >= text.count(ch) + 2 for ch in scarce):
            continue
        out.append(text)
    return tuple(out)


@lru_cache(maxsize=64)
def words_of_length(length: int, top: int) -> tuple[tuple[str, frozenset[str]], ...]:
    """(word, its letters) of the `top` most frequent words that have `length` letters, in order."""
    return tuple((w.text, frozenset(w.text)) for w in all_words()[:top] if len(w.text) == length)
