"""English words split into syllables (skills/data/words_en.txt, built once by
skills/tools/build_words.py from wordfreq + pyphen and committed)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "words_en.txt"


@dataclass(frozen=True)
class Word:
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
    hidden = []
    for w in all_words()[:hidden_top]:
        if len(w.text) != length:
            continue
        if all(len(targets.get(ch, ())) >= w.text.count(ch) + 2 for ch in set(w.text)):
            hidden.append(w.text)
    return Vocabulary(targets, tuple(hidden), tuple(syllables))
