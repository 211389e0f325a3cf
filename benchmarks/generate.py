"""Skill generation speed: examples per second for each skill at levels 1, mid and max.

    python benchmarks/generate.py [--seconds 1.0] [--repeats 3]

What is timed: `skill.sample(level, n, seed)` plus `json.dumps` of each
problem's chat_sft_v1 record, i.e. everything `realm skill generate` does but
the disk write, pinned to one CPU core. Targets (issue 4): >= 10,000 BIN and
>= 2,000 SY examples per second on one core.

Baseline, measured in the same run: `json.dumps` of the same chat_sft_v1
records built beforehand (the cost of writing a line at all). "x baseline"
is generation throughput divided by that serialisation throughput: how close
making an example comes to merely writing it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.catalog import builtin_skills  # noqa: E402

TARGETS = {"bin": 10_000, "sy": 2_000}


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def rate(fn, n: int, seconds: float, repeats: int) -> float:  # noqa: ANN001
    """Median examples/s over `repeats` runs of at least `seconds` each."""
    rates = []
    for _ in range(repeats):
        done, start = 0, time.perf_counter()
        while True:
            fn(done)
            done += n
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        rates.append(done / elapsed)
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum time per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell (median reported)")
    args = parser.parse_args(argv)

    pinning = pin_one_core()
    skills = builtin_skills()
    print(f"# skill generation: python {platform.python_version()}, {platform.machine()}, {pinning}")
    print("# timed: sample() + json.dumps(chat_sft_v1) per example; baseline: json.dumps of pre-built chat_sft_v1 records")
    print(f"{'skill':<5} {'level':>5} {'examples/s':>11} {'target':>7} {'x target':>9} "
          f"{'baseline/s':>11} {'x baseline':>10} {'chars/ex':>8}")
    worst = float("inf")
    for skill_id, target in TARGETS.items():
        skill = skills[skill_id]
        top = skill.info.max_level
        for level in (1, (top + 1) // 2, top):
            skill.eval_set(level)  # warm: evaluation set and vocabulary caches
            n = 500 if skill_id == "bin" else 100

            def generate(start: int, level: int = level, n: int = n, skill=skill) -> None:
                for p in skill.sample(level, n, 12345, start=start):
                    json.dumps(p.to_chat(), ensure_ascii=False)

            built = [p.to_chat() for p in skill.sample(level, n, 999)]

            def serialise(_: int, built: list = built) -> None:
                for record in built:
                    json.dumps(record, ensure_ascii=False)

            gen = rate(generate, n, args.seconds, args.repeats)
            base = rate(serialise, n, args.seconds, args.repeats)
            chars = statistics.mean(len(json.dumps(r, ensure_ascii=False)) for r in built)
            worst = min(worst, gen / target)
            print(f"{skill_id:<5} {level:>5} {gen:>11,.0f} {target:>7,} {gen / target:>8.2f}x "
                  f"{base:>11,.0f} {gen / base:>9.3f}x {chars:>8.0f}")
    print(f"# slowest cell reaches {worst:.2f}x its target ({'OK' if worst >= 1 else 'BELOW TARGET'})")
    return 0 if worst >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
