"""Training steps per second through the daemon against the engine alone, same job.

    python benchmarks/daemon_overhead.py [--examples 6000] [--repeats 2]

Both runs train nano DIO on the same generated BIN quest with the same realm.yaml
settings. "Engine alone" runs `python -m engine run JOB.json` on the job the daemon
builds for that quest; "through the daemon" drops the quest into a fresh save's
inbox with a running daemon (evaluation, sparring and auto-generation off, so only
the supervision itself is measured) and reads the same step events from SQLite.
Steady-state rate: optimizer steps between the first and the last step event,
divided by the time between them (start-up of the process is reported apart).
Target: the daemon's overhead <= 5 % (ratio >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from backend.config import load_config  # noqa: E402
from backend.daemon.jobs import StartPoint, build_job  # noqa: E402
from backend.questgen import write_quest  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from backend.store import Store  # noqa: E402
from daemon.harness import DaemonProcess, create_nano, make_save, wait_until  # noqa: E402

SETTINGS = {"training.save_every": 50, "training.log_every": 5, "training.tokens_per_micro_batch": 1024}


def rate(points: list[tuple[float, int]]) -> float:
    (t0, s0), (t1, s1) = points[0], points[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 else float("nan")


def engine_alone(job_file: Path) -> tuple[float, float]:
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "engine", "run", str(job_file)], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    points = []
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "step":
            points.append((event["ts"], event["global_step"]))
    proc.wait()
    return rate(points), points[0][0] - started


async def through_daemon(root: Path, nano: Path, quest: Path) -> tuple[float, float, object]:
    slot = await make_save(root, nano, SETTINGS)
    shutil.copy(quest.with_name(quest.name + ".meta.json"), slot.inbox_dir / (quest.name + ".meta.json"))
    shutil.copy(quest, slot.inbox_dir / quest.name)
    daemon = DaemonProcess(slot).start()
    store = await Store.open(slot.db_path)
    try:
        async def done() -> bool:
            q = await store.quests.get(1)
            return bool(q and q.state in ("completed", "failed"))

        await wait_until(done, 1800, "the quest to finish")
        rows = await store.fetchall("SELECT ts, step FROM step_metrics ORDER BY id")
        started = (await store.fetchone("SELECT ts FROM events WHERE kind = 'quest_started'"))[0]
        quest_row = await store.quests.get(1)
        config = load_config(slot.config_path)  # the same job the daemon ran: from the base model
        job = build_job(slot, config, quest_row, StartPoint(str(slot.base_model_dir), 0, None))
        return rate([(r[0], r[1]) for r in rows]), rows[0][0] - started, job
    finally:
        await store.close()
        daemon.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nano = create_nano(work / "nano")
        quest = work / "quest" / "bin-L01-bench.jsonl"
        write_quest(load_skills()["bin"], 1, args.examples, 7, quest)
        rows = []
        for i in range(args.repeats):
            d_rate, d_start, job = await through_daemon(work / f"save{i}", nano, quest)
            job_file = work / f"job{i}.json"
            job = job.model_copy(update={"output_dir": str(work / f"alone{i}")})
            job_file.write_text(job.model_dump_json(by_alias=True))
            e_rate, e_start = engine_alone(job_file)
            rows.append((e_rate, d_rate, e_start, d_start))
            print(f"run {i + 1}: engine alone {e_rate:.2f} steps/s, through the daemon {d_rate:.2f} steps/s "
                  f"(ratio {d_rate / e_rate:.3f}); start-up {e_start:.1f}s vs {d_start:.1f}s")
        e = sorted(r[0] for r in rows)[len(rows) // 2]
        d = sorted(r[1] for r in rows)[len(rows) // 2]
        print()
        print("| path | steps/s | ratio to engine alone |")
        print("|------|--------:|----------------------:|")
        print(f"| engine alone (baseline) | {e:.2f} | 1.000 |")
        print(f"| through the daemon | {d:.2f} | {d / e:.3f} |")
        print(f"\noverhead {100 * (1 - d / e):.1f} % (target <= 5 %): {'met' if d / e >= 0.95 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
