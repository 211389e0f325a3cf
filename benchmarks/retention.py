"""Does nano DIO keep BIN level 1 while it learns level 2? The engine alone, as the campaign trains.

    python benchmarks/retention.py [--settings LR:WD:REHEARSAL:SCHEDULE ...] [--steps1 300] [--steps2 600]

For each learning rate, weight decay, rehearsal share and schedule (constant or wsd): a fresh nano learns BIN level 1 (--steps1
steps), then a second job continues its training state (`continue_from`, the campaign's
constant rate) on a level-2 quest that rehearses level 1 (that share of its examples).
Checkpoints every --every steps of the second job are evaluated greedily on --problems
level-1 and level-2 problems (the engine's chat renderer, the skill's grader). The baseline is
the first setting (no rehearsal), measured in the same run. The table shows level 1 after the
first job, its worst and last accuracy during the second, and level 2 at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from backend.config import load_config  # noqa: E402
from backend.daemon.jobs import hyperparameters  # noqa: E402
from backend.questgen import QuestPart, write_mixed_quest  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from contracts.checkpoint import list_complete  # noqa: E402
from contracts.engine_job import DataFile, EngineJob  # noqa: E402
from curriculum_pacing import evaluate_checkpoints  # noqa: E402
from daemon.harness import create_nano  # noqa: E402


def run_job(work: Path, name: str, quest: Path, steps: int, every: int, lr: float, wd: float, schedule: str,
            **start) -> list[Path]:
    config = load_config(work / "none.yaml")
    hp = hyperparameters(config).model_copy(update={"learning_rate": lr, "weight_decay": wd, "max_steps": steps,
                                                    "epochs": 100, "schedule": schedule})
    job = EngineJob(job_id=name, data_files=[DataFile(path=str(quest))], hyperparameters=hp, save_every_steps=every,
                    log_every_steps=50, output_dir=str(work / name), threads=0, **start)
    job_file = work / f"{name}.json"
    job_file.write_text(job.model_dump_json(by_alias=True))
    out = subprocess.run([sys.executable, "-m", "engine", "run", str(job_file)], capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["success"], result
    return [p for p, _ in list_complete(work / name)]


def trial(work: Path, nano: Path, lr: float, wd: float, rehearsal: float, schedule: str,
          args: argparse.Namespace) -> dict:
    bin_skill = load_skills()["bin"]
    tag = f"lr{lr:g}-wd{wd:g}-r{rehearsal:g}-{schedule}"
    q1, q2 = work / f"{tag}-l1.jsonl", work / f"{tag}-l2.jsonl"
    write_mixed_quest([QuestPart(bin_skill, 1, 20_000)], 11, q1)
    n2 = 20_000
    parts = [QuestPart(bin_skill, 2, round(n2 * (1 - rehearsal)))]
    if rehearsal > 0:
        parts.append(QuestPart(bin_skill, 1, round(n2 * rehearsal)))
    write_mixed_quest(parts, 12, q2)
    first = run_job(work, f"{tag}-a", q1, args.steps1, args.steps1, lr, wd, schedule, model_dir=str(nano))
    second = run_job(work, f"{tag}-b", q2, args.steps2, args.every, lr, wd, schedule, continue_from=str(first[-1]))
    l1_set = bin_skill.sample(1, args.problems, 777_001)
    l2_set = bin_skill.sample(2, args.problems, 777_002)
    l1_start = evaluate_checkpoints(first[-1:], l1_set, bin_skill)[0]
    l1 = evaluate_checkpoints(second, l1_set, bin_skill)
    l2 = evaluate_checkpoints(second[-1:], l2_set, bin_skill)[0]
    return {"tag": tag, "lr": lr, "wd": wd, "rehearsal": rehearsal, "schedule": schedule, "l1_start": l1_start, "l1_worst": min(l1), "l1_end": l1[-1], "l2_end": l2, "l1_curve": l1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["3e-3:0.1:0:constant", "3e-3:0.1:0.2:constant",
                                                           "1e-3:0.1:0.2:constant", "3e-3:0.1:0.2:wsd"])
    parser.add_argument("--steps1", type=int, default=300)
    parser.add_argument("--steps2", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--problems", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nano = create_nano(work / "nano")
        rows = []
        for setting in args.settings:
            lr, wd, rehearsal, schedule = setting.split(":")
            row = trial(work, nano, float(lr), float(wd), float(rehearsal), schedule, args)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| lr | weight decay | schedule | rehearsal of L1 | L1 after job 1 | L1 worst in job 2 | L1 at the end "
          "| L2 at the end |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['lr']:g} | {r['wd']:g} | {r['schedule']} | {r['rehearsal']:.0%} | {r['l1_start']:.0%} | "
              f"{r['l1_worst']:.0%} | {r['l1_end']:.0%} | {r['l2_end']:.0%} |")


if __name__ == "__main__":
    main()
