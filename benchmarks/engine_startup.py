"""A battle's start-up through the daemon: a warm engine against a fresh one per quest.

    python benchmarks/engine_startup.py [--quests 5] [--examples 1500]

Two fresh saves play the same generated BIN quests one after another through the real
daemon (nano DIO, the default training settings, no evaluation, auto-generation or
sparring, so only the battles run). Baseline, same run: `daemon.engine_standby: false`,
a fresh `python -m engine run` per quest. Start-up = from a quest's `quest_started` event
to its first step row; the first quest of each save has no engine before it to warm a
spare and is reported apart. Also: the wall time of all quests.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from backend.questgen import write_quest  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from backend.store import Store  # noqa: E402
from daemon.harness import DaemonProcess, create_nano, make_save, wait_until  # noqa: E402

SETTINGS = {"training.save_every": 50, "training.log_every": 5, "training.tokens_per_micro_batch": 1024,
            "training.warmup_steps": 20, "training.min_quest_steps": 20}


async def play(root: Path, nano: Path, quests: list[Path], standby: bool) -> tuple[list[float], float]:
    slot = await make_save(root, nano, {**SETTINGS, "daemon.engine_standby": standby})
    for i, quest in enumerate(quests):  # named so the inbox takes them in this order
        shutil.copy(quest.with_name(quest.name + ".meta.json"), slot.inbox_dir / f"{i:02d}-{quest.name}.meta.json")
        shutil.copy(quest, slot.inbox_dir / f"{i:02d}-{quest.name}")
    began = time.monotonic()
    daemon = DaemonProcess(slot).start()
    store = await Store.open(slot.db_path)
    try:
        async def all_done() -> bool:
            rows = await store.fetchall("SELECT state FROM quests")
            return len(rows) == len(quests) and all(r["state"] in ("completed", "failed") for r in rows)

        await wait_until(all_done, 3600, "every quest to finish", interval_s=1.0)
        wall = time.monotonic() - began
        startups = []
        for e in await store.events.since(0, kinds=("quest_started",)):
            first = await store.fetchone("SELECT MIN(ts) FROM step_metrics WHERE quest_id = ?", (e.payload["quest_id"],))
            startups.append(first[0] - e.ts)
        return startups, wall
    finally:
        await store.close()
        daemon.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quests", type=int, default=5)
    parser.add_argument("--examples", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nano = create_nano(work / "nano")
        skill = load_skills()["bin"]
        quests = []
        for i in range(args.quests):
            quest = work / "quests" / f"bin-L01-s{i}.jsonl"
            write_quest(skill, 1, args.examples, 100 + i, quest)
            quests.append(quest)
        rows = {}
        for name, standby in (("fresh engine per quest (baseline)", False), ("warm engine", True)):
            startups, wall = await play(work / name.split()[0], nano, quests, standby)
            rows[name] = (startups, wall)
            print(f"{name}: start-ups {' '.join(f'{s:.1f}' for s in startups)} s; all quests {wall:.0f} s", flush=True)
        print("\n| engine | first quest start-up | later quests' start-up (median) | all quests |")
        print("|---|---:|---:|---:|")
        for name, (startups, wall) in rows.items():
            print(f"| {name} | {startups[0]:.1f} s | {statistics.median(startups[1:]):.1f} s | {wall:.0f} s |")
        (base, base_wall), (warm, warm_wall) = rows.values()
        ratio = statistics.median(base[1:]) / statistics.median(warm[1:])
        print(f"\nlater quests start {ratio:.2f}x faster with a warm engine; all quests take "
              f"{warm_wall / base_wall:.2f}x the baseline's wall time")


if __name__ == "__main__":
    asyncio.run(main())
