"""Can nano DIO learn SY (Word Weaving) level 1, and with which settings? The engine alone.

    python benchmarks/sy_learnability.py [--settings LR:WD:TOKENS[:NANO] ...] [--steps 3000] [--every 500]

For each setting: a fresh nano (NANO = hidden:layers:intermediate, default the embedded
default's size) trains one job on --examples generated SY level-1 puzzles at a constant
learning rate LR, weight decay WD and TOKENS per micro-batch. Every --every steps a
checkpoint is graded greedily on --problems fresh puzzles, as the game's evaluator grades:
exact (all words right) and the per-word score. The first setting is the baseline of the
same run. Prints one JSON line per setting, then a table: steps and training seconds to the
level-up bar (exact >= 80 %), best exact and best per-word score.

--mix-bin F: a share F of every quest's examples are BIN problems (levels 1-3), shuffled in:
SY and BIN in the same micro-batches, as against the game's alternating quests.

--level1 KEY=VALUE[,KEY=VALUE] ...: variants of SY level 1 (keys of skills/sy.yaml's level rows,
e.g. vocab=300); each runs every setting, on a copy of the skills folder. "" is today's level 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from backend.config import load_config  # noqa: E402
from backend.daemon.jobs import hyperparameters  # noqa: E402
from backend.questgen import QuestPart, write_mixed_quest, write_quest  # noqa: E402
from backend.skill_registry import SKILLS_DIR_ENV, load_skills, skills_dir  # noqa: E402
from contracts.checkpoint import list_complete  # noqa: E402
from contracts.engine_job import DataFile, EngineJob  # noqa: E402
from curriculum_pacing import grade_checkpoints  # noqa: E402


def nano_spec(text: str) -> dict:
    hidden, layers, inter = (int(x) for x in text.split(":"))
    return {"hidden_size": hidden, "num_layers": layers, "intermediate_size": inter}


def trial(work: Path, quest: Path, setting: str, args: argparse.Namespace) -> dict:
    lr, wd, tokens, *size = setting.split(":", 3)
    tag = setting.replace(":", "_")
    nano = work / f"nano-{tag}"
    spec = nano_spec(size[0]) if size else {}
    subprocess.run([sys.executable, "-m", "engine", "nano", str(nano), "--seed", "1", "--spec", json.dumps(spec)],
                   check=True, capture_output=True)
    hp = hyperparameters(load_config(work / "none.yaml")).model_copy(update={
        "learning_rate": float(lr), "weight_decay": float(wd), "tokens_per_micro_batch": int(tokens),
        "max_steps": args.steps, "epochs": 100, "schedule": "constant"})
    job = EngineJob(job_id=tag, model_dir=str(nano), data_files=[DataFile(path=str(quest))], hyperparameters=hp,
                    save_every_steps=args.every, log_every_steps=50, output_dir=str(work / tag), threads=0)
    job_file = work / f"{tag}.json"
    job_file.write_text(job.model_dump_json(by_alias=True))
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "engine", "run", str(job_file)], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["success"], result
    skill = load_skills(quest.parent)["sy"]
    problems = skill.sample(1, args.problems, 919_001)
    found = list_complete(work / tag)
    curve = grade_checkpoints([p for p, _ in found], problems, skill, max_new_tokens=128)
    steps = [ledger.step for _, ledger in found]
    mastered = next((s for s, (exact, _) in zip(steps, curve) if exact >= 0.8), None)
    return {"setting": setting, "seconds": round(seconds, 1), "steps": steps, "curve": curve,
            "steps_per_s": round(args.steps / seconds, 2), "mastered_at": mastered,
            "best_exact": max(e for e, _ in curve), "best_score": max(s for _, s in curve)}


def skills_variant(work: Path, source: Path, overrides: str) -> Path:
    """A copy of the `source` skills folder whose SY level 1 takes `overrides` ("vocab=300,reveal=0.9").
    Every variant copies the same source (the project's skills), never the previous variant."""
    import yaml

    folder = work / f"skills-{overrides.replace('=', '_').replace(',', '-') or 'today'}"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    spec = yaml.safe_load((folder / "sy.yaml").read_text())
    for pair in filter(None, overrides.split(",")):
        key, value = pair.split("=", 1)
        spec["levels"][1][key] = yaml.safe_load(value)
    (folder / "sy.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["1e-3:0.1:1024", "3e-3:0.1:2048"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--examples", type=int, default=30_000)
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--mix-bin", type=float, default=0.0, help="share of BIN examples mixed into the quest")
    parser.add_argument("--level1", nargs="+", default=[""], help='SY level-1 variants, e.g. "" "vocab=300"')
    args = parser.parse_args()
    rows = []
    source = skills_dir()  # before any variant points SKILLS_DIR_ENV at its own copy
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.level1:
            work = Path(tmp) / f"v{len(rows)}"
            work.mkdir()
            folder = skills_variant(work, source, variant)
            os.environ[SKILLS_DIR_ENV] = str(folder)
            quest = folder / "sy-L01.jsonl"
            skills = load_skills(folder)
            if args.mix_bin > 0:
                n_bin = round(args.examples * args.mix_bin)
                parts = [QuestPart(skills["sy"], 1, args.examples - n_bin)]
                parts += [QuestPart(skills["bin"], lv, n_bin // 3) for lv in (1, 2, 3)]
                write_mixed_quest(parts, 3, quest)
            else:
                write_quest(skills["sy"], 1, args.examples, 3, quest)
            for setting in args.settings:
                row = trial(work, quest, setting, args) | {"level1": variant or "today"}
                print(json.dumps(row), flush=True)
                rows.append(row)
    print("\n| SY level 1 | setting (lr:wd:tokens[:nano]) | steps/s | step at exact >= 80 % | best exact | best per-word |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['level1']} | {r['setting']} | {r['steps_per_s']} | {r['mastered_at'] or 'not reached'} | "
              f"{r['best_exact']:.0%} | {r['best_score']:.2f} |")


if __name__ == "__main__":
    main()
