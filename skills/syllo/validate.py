"""validate_syllo: the problems of a syllo_v1 record (empty when valid). Deny by default."""

from __future__ import annotations

from collections import Counter
from typing import Any

from skills.syllo.puzzle import ELLIPSIS, fits

REQUIRED: dict[str, type] = {
    "id": str, "level": int, "hidden": str, "show_hidden": bool,
    "words": list, "distractors": list, "pool": list,
}
WORD_KEYS = {"word", "syllables", "clue"}
MIN_WORDS = 4


def validate_syllo(record: Any) -> list[str]:
    """Everything wrong with a syllo_v1 record, one message per problem."""
    if not isinstance(record, dict):
        return [f"a syllo_v1 record is a JSON object (got {type(record).__name__})"]
    problems = [f"unknown key '{k}'" for k in sorted(set(record) - set(REQUIRED))]
    for key, kind in REQUIRED.items():
        if key not in record:
            problems.append(f"missing key '{key}'")
        elif not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool)):
            problems.append(f"'{key}' must be {kind.__name__} (got {type(record[key]).__name__})")
    if problems:
        return problems
    if record["level"] < 1:
        problems.append(f"'level' must be >= 1 (got {record['level']})")
    words = record["words"]
    if len(words) < MIN_WORDS:
        problems.append(f"'words' needs at least {MIN_WORDS} entries (got {len(words)})")
    for i, entry in enumerate(words):
        problems.extend(f"words[{i}]: {p}" for p in word_problems(entry))
    if problems:
        return problems
    acrostic = "".join(w["word"][0] for w in words)
    if acrostic != record["hidden"]:
        problems.append(f"first letters spell '{acrostic}', not the hidden word '{record['hidden']}'")
    if len({w["word"] for w in words}) != len(words):
        problems.append("target words must be distinct")
    if not all(isinstance(s, str) and s for s in record["distractors"] + record["pool"]):
        problems.append("'pool' and 'distractors' must hold non-empty strings")
        return problems
    used = [s for w in words for s in w["syllables"]]
    if Counter(record["pool"]) != Counter(used + record["distractors"]):
        problems.append("'pool' must be exactly the words' syllables plus the distractors")
    return problems


def word_problems(entry: Any) -> list[str]:
    """The problems of one entry of 'words'."""
    if not isinstance(entry, dict):
        return ["must be an object with word, syllables, clue"]
    out = [f"unknown key '{k}'" for k in sorted(set(entry) - WORD_KEYS)]
    out += [f"missing key '{k}'" for k in sorted(WORD_KEYS - set(entry))]
    if out:
        return out
    word, syllables, clue = entry["word"], entry["syllables"], entry["clue"]
    if not isinstance(word, str) or not word.isascii() or not word.isalpha() or not word.islower():
        return [f"'word' must be lowercase letters a-z (got {word!r})"]
    if not isinstance(syllables, list) or len(syllables) < 2 or not all(isinstance(s, str) and s for s in syllables):
        return ["'syllables' must list 2 or more non-empty strings"]
    if "".join(syllables) != word:
        out.append(f"syllables {syllables} do not spell '{word}'")
    if not isinstance(clue, str) or not clue:
        out.append("'clue' must be a non-empty string")
    elif clue.endswith(ELLIPSIS):
        if len(clue) != 2 or clue[0] != word[0]:
            out.append(f"first-letter clue {clue!r} must be '{word[0]}{ELLIPSIS}'")
    elif clue[0] != word[0] or not fits(word, clue):
        out.append(f"clue {clue!r} must be '{word}' with some letters after the first replaced by '_'")
    return out
