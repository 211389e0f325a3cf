"""Testing a player's own quest: did DIO learn what it was taught, and does it generalise?

Pure functions over quest lines (no I/O but the files named): which lines can be asked
(chat_sft_v1 and completion_v1 lines: the prompt is everything before the last answer),
the held-out split made before the first battle, the seeded samples, and the scores
(exact match after trimming, and a similarity ratio from difflib, 0..1).
"""

from __future__ import annotations

import difflib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELD_OUT_SUFFIX = ".heldout.jsonl"
HOLD_OUT_MIN_DISTINCT = 40  # distinct examples a quest needs before a few are held out
HOLD_OUT_MAX = 5
HOLD_OUT_SHARE = 0.05
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Probe:
    """One line turned into a question: the messages to send and the answer expected."""

    line: str
    messages: list[dict[str, str]]
    expected: str


def probe_of(line: str) -> Probe | None:
    """The question a quest line asks, or None for a line that is not a chat or completion example."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("messages"), list) and data["messages"]:
        turns = data["messages"]
        last = turns[-1]
        if not isinstance(last, dict) or last.get("role") != "assistant" or len(turns) < 2:
            return None
        history = [{"role": str(t.get("role")), "content": str(t.get("content", ""))} for t in turns[:-1]]
        return Probe(line, history, str(last.get("content", "")))
    if isinstance(data.get("prompt"), str) and isinstance(data.get("completion"), str):
        return Probe(line, [{"role": "user", "content": data["prompt"]}], data["completion"])
    return None


def read_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def hold_out(lines: list[str], seed: str) -> tuple[list[str], list[str]]:
    """(lines to train, held-out lines). A few distinct askable examples are held out, with every
    copy of them, when the quest has at least HOLD_OUT_MIN_DISTINCT distinct ones; else none."""
    distinct = sorted({ln for ln in lines if probe_of(ln) is not None})
    if len(distinct) < HOLD_OUT_MIN_DISTINCT:
        return lines, []
    k = min(HOLD_OUT_MAX, max(1, round(len(distinct) * HOLD_OUT_SHARE)))
    held = set(random.Random(f"hold-out|{seed}").sample(distinct, k))
    return [ln for ln in lines if ln not in held], sorted(held)


def sample_probes(lines: list[str], seed: str, k: int = SAMPLE_SIZE) -> list[Probe]:
    """Up to k distinct askable lines, drawn with a seed (the same every time for one quest)."""
    distinct = sorted({ln for ln in lines if probe_of(ln) is not None})
    chosen = random.Random(f"probe|{seed}").sample(distinct, min(k, len(distinct)))
    return [p for p in (probe_of(ln) for ln in chosen) if p is not None]


def similarity(answer: str, expected: str) -> float:
    return difflib.SequenceMatcher(None, answer.strip(), expected.strip(), autojunk=False).ratio()


def score(answers: list[tuple[Probe, str]]) -> dict[str, Any]:
    """{exact, total, similarity (mean), samples: [...first few]} of (probe, DIO's answer) pairs."""
    exact = sum(1 for p, a in answers if a.strip() == p.expected.strip())
    sims = [similarity(a, p.expected) for p, a in answers]
    return {
        "exact": exact, "total": len(answers), "similarity": sum(sims) / len(sims) if sims else None,
        "samples": [{"prompt": p.messages[-1]["content"][:200], "expected": p.expected[:200], "answer": a[:200],
                     "exact": a.strip() == p.expected.strip(), "similarity": round(s, 3)}
                    for (p, a), s in list(zip(answers, sims))[:5]],
    }
