"""How fast the `realm` CLI answers, against `python -c pass` measured in the same run.

    python benchmarks/cli.py [--runs 7]

Each command runs as a whole process (`python -m backend.cli ...`) on a save made for the
run (`realm init`, then a few quests and checkpoint rows so the lists are not empty). The
figure is the median wall time over --runs (min and max beside it), and the ratio to the
baseline's median. Targets (issue 14): status, quest list and vault list <= 0.3 s on a quiet
machine, doctor <= 2 s, skill sample <= 1 s. Run it on a quiet machine: the ratio is the
figure that travels, the seconds are this machine's.

Bytecode: an installed program reads its modules from `__pycache__` (pip compiles what it
installs; Python writes the cache of an editable install on the first run). A machine that sets
PYTHONDONTWRITEBYTECODE (these VMs do) would make every run compile the game's own modules
again, which no player's `realm` does after its first run, so the commands run with it unset
and one untimed warm-up run each; `--cold` keeps the environment as it is, to see that cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS_S = {"status": 0.3, "quest list": 0.3, "vault list": 0.3, "doctor": 2.0, "skill sample": 1.0}
COMMANDS = {
    "status": ["status"],
    "quest list": ["quest", "list"],
    "vault list": ["vault", "list"],
    "doctor": ["doctor"],
    "skill sample": ["skill", "sample", "sy", "--level", "3", "--count", "2"],
    "--help": ["--help"],
}


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        out.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):  # doctor exits 1 when a check fails (no daemon here)
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return out


async def seed(save: Path) -> None:
    from backend.store import Store

    async with await Store.open(save / "realm.db") as store:
        for i in range(20):
            qid = await store.quests.create(f"quest-{i}.jsonl", f"quests/queued/{i:05d}-quest-{i}.jsonl",
                                            state="queued", priority="normal", source="inbox")
            await store.quests.update(qid, examples=100 + i)
        for step in range(50, 550, 50):
            await store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cold", action="store_true", help="keep PYTHONDONTWRITEBYTECODE and skip the warm-up runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        save = Path(tmp) / "save"
        env = {**os.environ, "REALM_SAVE": str(save)}
        if not args.cold:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "backend.cli", "init", "--save", str(save)], check=True,
                       capture_output=True, env=env)
        asyncio.run(seed(save))
        base = timed([sys.executable, "-c", "pass"], args.runs, env)
        b = statistics.median(base)
        warm = "with bytecode caching and a warm-up run each" if not args.cold else "cold: the environment as it is, no warm-up"
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.runs} runs each, {warm}\n")
        print("| command | median | min | max | x `python -c pass` | target | vs target |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(f"| `python -c pass` (baseline) | {b:.3f} s | {min(base):.3f} s | {max(base):.3f} s | 1.0x | | |")
        for name, argv in COMMANDS.items():
            if not args.cold:
                timed([sys.executable, "-m", "backend.cli", *argv], 1, env)
            t = timed([sys.executable, "-m", "backend.cli", *argv], args.runs, env)
            m = statistics.median(t)
            target = TARGETS_S.get(name)
            vs = f"{m / target:.2f}x" if target else ""
            print(f"| `realm {' '.join(argv)}` | {m:.3f} s | {min(t):.3f} s | {max(t):.3f} s | {m / b:.1f}x | "
                  f"{f'<= {target:g} s' if target else ''} | {vs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
