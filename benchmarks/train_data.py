"""Benchmark data for train_throughput.py: BIN-skill chat examples (levels 1-30, mixed).

Uses the real BIN generator (skills/) when it imports; otherwise a stand-in with the same
circled-binary format. Mean length with nano DIO's tokenizer is about 48 tokens, of which
about a fifth are supervised (the answer and its `<|im_end|>`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any


def _circled(n: int) -> str:
    return format(n, "b").translate(str.maketrans("01", "⓪①"))


def _stand_in(level: int, rng: random.Random) -> dict[str, Any]:
    bits = 2 + level // 2
    a, b = rng.randrange(2 ** bits), rng.randrange(2 ** bits)
    return {"messages": [{"role": "user", "content": f"{_circled(a)} + {_circled(b)} ="},
                         {"role": "assistant", "content": _circled(a + b)}]}


def bin_examples(n: int, seed: int = 0, levels: range = range(1, 31)) -> list[dict[str, Any]]:
    """n chat_sft_v1 records spread evenly over `levels`, shuffled deterministically."""
    per_level = [n // len(levels) + (1 if i < n % len(levels) else 0) for i in range(len(levels))]
    try:
        from skills.catalog import builtin_skills

        skill = builtin_skills()["bin"]
        records = [p.to_chat() for lvl, k in zip(levels, per_level) for p in skill.sample(lvl, k, seed=seed)]
    except Exception:  # skills missing or changed: keep the benchmark runnable
        rng = random.Random(seed)
        records = [_stand_in(lvl, rng) for lvl, k in zip(levels, per_level) for _ in range(k)]
    random.Random(seed).shuffle(records)
    return [{"messages": [{"role": m["role"], "content": m["content"]} for m in r["messages"]]} for r in records]


def write_jsonl(records: list[dict[str, Any]], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path
