"""DEEP checks: answer leakage, overlap with the skills' evaluation sets, near-duplicates.

Answer leakage (`answer_leak`)
    The golden answer is the last assistant turn (the completion for
    completion_v1); the prompt is every turn before it (system included), or
    the prompt field. Both are whitespace-normalised and case-folded. The line
    leaks when the answer occurs in the prompt as a whole unit: the characters
    just outside the match are not letters or digits where the answer's own
    edge is one (so "1010" is not found inside "110101", nor "cat" in
    "category"). Answers shorter than `leak_min_chars` (default 8) are not
    checked: "yes", "42" or "<" occur in prompts by chance and prove nothing.
    Known limit: a multiple-choice prompt that lists a long answer among its
    options is flagged; name options by letter instead.

Evaluation overlap (`eval_overlap`)
    The line's prompt (last user turn, or the prompt field) is compared, after
    whitespace normalisation (runs of whitespace -> one space, ends stripped),
    with the prompt of every evaluation problem of every built-in skill at
    every level (`Problem.prompt_text`). An exact match is contamination.

Near-duplicates (`near_duplicate`)
    Text: every turn but the system prompt (prompt + completion), case-folded,
    split into words (\\w+), shingled into word 3-grams. Shingles that occur in
    at least `STOP_MIN_DOCS` examples and 5 % of the first batch are template
    text (the same instructions in every generated prompt) and are dropped for
    the whole file. Examples with fewer than `near_dup_min_words` words, or
    left with fewer than 8 shingles, are not compared. Candidates come from
    one-permutation MinHash (Shrivastava & Li) with rotation densification,
    40 bins in 8 LSH bands of 5 rows (a pair with Jaccard 0.85 becomes a
    candidate with probability 0.99, one with 0.3 with probability 0.02); a
    candidate is confirmed with the exact Jaccard similarity of the two shingle
    sets (>= `near_dup_threshold`, default 0.85). The later line is the
    near-duplicate of the earlier one. At most 64 examples are kept per bucket
    and 256 candidates tried per example, which bounds the cost on pathological
    files (many moderately similar examples).
"""

from __future__ import annotations

import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.validation.spec import Example
from backend.validation.text import norm_ws

# ----- answer leakage ----------------------------------------------------------------------


def leak_context(ex: Example) -> str:
    if ex.turns is None:
        return ex.prompt
    return "\n".join(c for _, c in ex.turns[:-1])


def find_leak(answer: str, context: str, min_chars: int) -> int | None:
    """Offset of the answer inside the normalised prompt, or None (see the module doc)."""
    ans = norm_ws(answer).casefold()
    if len(ans) < min_chars:
        return None
    ctx = norm_ws(context).casefold()
    left_alnum, right_alnum = ans[0].isalnum(), ans[-1].isalnum()
    start = ctx.find(ans)
    while start != -1:
        end = start + len(ans)
        left_ok = start == 0 or not (left_alnum and ctx[start - 1].isalnum())
        right_ok = end == len(ctx) or not (right_alnum and ctx[end].isalnum())
        if left_ok and right_ok:
            return start
        start = ctx.find(ans, start + 1)
    return None


# ----- evaluation overlap --------------------------------------------------------------------


@dataclass
class EvalIndex:
    """Normalised evaluation prompt -> the evaluation problem's id."""

    prompts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> EvalIndex:
        """From (prompt text, problem id) pairs."""
        index = cls()
        for prompt, pid in pairs:
            index.prompts.setdefault(norm_ws(prompt), pid)
        return index

    @classmethod
    def from_problems(cls, problems: Iterable[Any]) -> EvalIndex:
        """From skills.base.Problem objects (their `prompt_text` and `id`)."""
        return cls.from_pairs((p.prompt_text, p.id) for p in problems)

    def lookup(self, prompt: str) -> str | None:
        return self.prompts.get(norm_ws(prompt))

    def __len__(self) -> int:
        return len(self.prompts)


_SKILLS_INDEX: EvalIndex | None = None
_SKILLS_LOCK = threading.Lock()


def skills_eval_index() -> EvalIndex:
    """Every held-out evaluation problem of every built-in skill, all levels (built once per
    process). A level small enough to be mastered whole (see `evaluation.hold_out_min`) is
    not held out: training it on its own problems is no leak. Raises whatever the skills
    package raises when it cannot load."""
    global _SKILLS_INDEX
    with _SKILLS_LOCK:
        if _SKILLS_INDEX is None:
            from skills.catalog import builtin_skills

            problems = []
            for skill in builtin_skills().values():
                for level in range(1, skill.info.max_level + 1):
                    held_out = getattr(skill, "held_out_eval_set", skill.eval_set)  # a plain Skill holds out all
                    problems.extend(held_out(level))
            _SKILLS_INDEX = EvalIndex.from_problems(problems)
        return _SKILLS_INDEX


# ----- near-duplicates ---------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
BINS = 40
ROWS = 5
BANDS = BINS // ROWS
MIN_SHINGLES = 8
STOP_MIN_DOCS = 50
STOP_SHARE = 0.05
_M64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15
_LOW = (1 << 32) - 1
_EMPTY = 1 << 32


def near_dup_text(ex: Example) -> str:
    if ex.turns is None:
        return ex.prompt + "\n" + ex.answer
    return "\n".join(c for r, c in ex.turns if r != "system")


def shingle_hashes(text: str, min_words: int) -> set[int] | None:
    words = _WORD.findall(text.casefold())
    if len(words) < min_words:
        return None
    return {(hash(s) * _MIX) & _M64 for s in zip(words, words[1:], words[2:])}


def oph_signature(hashes: Iterable[int]) -> list[int]:
    """One-permutation MinHash over BINS bins (the high 32 bits pick the bin, the low 32
    bits are the value), with empty bins densified from the next filled bin to the right."""
    sig = [_EMPTY] * BINS
    for h in hashes:
        b = ((h >> 32) * BINS) >> 32
        v = h & _LOW
        if v < sig[b]:
            sig[b] = v
    if _EMPTY in sig:
        out = sig[:]
        nxt = -1
        for i in range(2 * BINS - 1, -1, -1):
            k = i % BINS
            if sig[k] != _EMPTY:
                nxt = i
            elif i < BINS and nxt >= 0:
                out[k] = sig[nxt % BINS] + (nxt - i) * _EMPTY
        sig = out
    return sig


class NearDupIndex:
    """Near-duplicate detection over the examples of one file, in line order."""

    def __init__(self, threshold: float, min_words: int) -> None:
        self.threshold = threshold
        self.min_words = min_words
        self.stop: frozenset[int] | None = None
        self.buckets: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        self.sets: dict[int, array] = {}  # line -> sorted shingle hashes of indexed examples

    def learn_stop(self, batch_hashes: list[set[int] | None]) -> None:
        docs = [h for h in batch_hashes if h]
        df: Counter[int] = Counter()
        for h in docs:
            df.update(h)
        floor = max(STOP_MIN_DOCS, STOP_SHARE * len(docs))
        self.stop = frozenset(s for s, n in df.items() if n >= floor)

    def check_batch(self, examples: list[Example]) -> dict[int, tuple[int, float]]:
        """line -> (earlier line, Jaccard) for the near-duplicates among `examples`; indexes the rest."""
        hashes = [shingle_hashes(near_dup_text(ex), self.min_words) for ex in examples]
        if self.stop is None:
            self.learn_stop(hashes)
        stop = self.stop or frozenset()
        found: dict[int, tuple[int, float]] = {}
        for ex, hs in zip(examples, hashes):
            if hs is None:
                continue
            if stop:
                hs = hs - stop
            if len(hs) < MIN_SHINGLES:
                continue
            sig = oph_signature(hs)
            keys = list(enumerate(zip(*[iter(sig)] * ROWS)))
            match = self._match(hs, keys)
            if match is not None:
                found[ex.line] = match
                continue
            self.sets[ex.line] = array("Q", sorted(hs))
            for key in keys:
                bucket = self.buckets.get(key)
                if bucket is None:
                    self.buckets[key] = [ex.line]
                elif len(bucket) < 64:
                    bucket.append(ex.line)
        return found

    def _match(self, hs: set[int], keys: list[tuple[int, tuple[int, ...]]]) -> tuple[int, float] | None:
        tried: set[int] = set()
        best: tuple[int, float] | None = None
        for key in keys:
            for other in self.buckets.get(key, ()):
                if other in tried:
                    continue
                tried.add(other)
                theirs = self.sets[other]
                inter = len(hs.intersection(theirs))
                jac = inter / (len(hs) + len(theirs) - inter)
                if jac >= self.threshold and (best is None or jac > best[1] or (jac == best[1] and other < best[0])):
                    best = (other, jac)
            if len(tried) > 256:
                break
        return best
