"""Why BIN writes numbers in registers: nano DIO learning addition, register vs plain.

    python benchmarks/bin_notation.py [--level 3] [--seconds 360] [--every 400]

Two arms, run side by side with one thread each: the engine alone, from the same
fresh nano, on one large quest of BIN problems at `--level`, written

- register: as the skill writes them (every number in the level's fixed-width
  register, leading ⓪s), and
- plain (the baseline): the same problems with the leading ⓪s stripped.

Both leave out the level's held-out evaluation problems and 50 more problems of
the level, the "wide" held-out set. After --seconds of training each checkpoint
(every --every steps) is evaluated greedily on the wide set in its arm's notation.
Prints accuracy by step and the steps each arm needed to reach 80 %, with the
ratio plain / register.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.config import load_config  # noqa: E402
from backend.daemon.jobs import hyperparameters  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from contracts.checkpoint import list_complete  # noqa: E402
from contracts.engine_job import DataFile, EngineJob  # noqa: E402
from engine.nano_model import create_nano  # noqa: E402
from skills.base import Problem  # noqa: E402
from skills.bin.notation import CIRCLED_NUMBER, from_circled, to_circled  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from curriculum_pacing import evaluate_checkpoints  # noqa: E402

PASS = 0.8


def plain(problem: Problem) -> Problem:
    """The problem with every number written without leading ⓪s."""

    def strip(text: str) -> str:
        return CIRCLED_NUMBER.sub(lambda m: to_circled(from_circled(m.group())), text)

    messages = [m.model_copy(update={"content": strip(m.content)}) for m in problem.messages]
    return problem.model_copy(update={"messages": messages, "answer": strip(problem.answer)})


def split(skill, level: int, examples: int) -> tuple[list[Problem], list[Problem]]:
    """Training problems and the wide held-out set (neither holds an evaluation problem)."""
    held = set(skill.held_out_keys())
    wide: dict[str, Problem] = {}
    for p in skill.sample(level, 2000, 777):
        if len(wide) < 50 and skill.key_of(p) not in held:
            wide[skill.key_of(p)] = p
    held |= set(wide)
    train = [p for p in skill.iter_sample(level, examples, 3) if skill.key_of(p) not in held]
    random.Random(0).shuffle(train)
    return train, list(wide.values())


def start_arm(work: Path, nano: Path, problems: list[Problem], every: int) -> subprocess.Popen:
    quest = work / "quest.jsonl"
    quest.write_text("".join(json.dumps(p.to_chat(), ensure_ascii=False) + "\n" for p in problems), encoding="utf-8")
    config = load_config(work / "none.yaml")
    job = EngineJob(model_dir=str(nano), data_files=[DataFile(path=str(quest), schema="chat_sft_v1")],
                    hyperparameters=hyperparameters(config), save_every_steps=every, log_every_steps=every,
                    output_dir=str(work / "ckpt"), threads=1)
    (work / "job.json").write_text(job.model_dump_json(by_alias=True), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "engine", "run", str(work / "job.json")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def steps_to_pass(rows: list[tuple[int, float]]) -> int | None:
    return next((step for step, acc in rows if acc >= PASS), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=360.0, help="training time of each arm")
    parser.add_argument("--every", type=int, default=400, help="checkpoint (and evaluation) every N steps")
    parser.add_argument("--examples", type=int, default=200_000)
    args = parser.parse_args()
    skill = load_skills()["bin"]
    train, wide = split(skill, args.level, args.examples)
    arms = {"register": (train, wide), "plain": ([plain(p) for p in train], [plain(p) for p in wide])}
    print(f"BIN level {args.level}: {len(train):,} training problems, {len(wide)} held out; "
          f"e.g. register {wide[0].prompt_text}  plain {plain(wide[0]).prompt_text}")
    with tempfile.TemporaryDirectory() as tmp:
        nano = create_nano(Path(tmp) / "nano", seed=1234)
        procs = {}
        for name, (problems, _) in arms.items():
            (Path(tmp) / name).mkdir()
            procs[name] = start_arm(Path(tmp) / name, nano, problems, args.every)
        deadline = time.time() + args.seconds
        while time.time() < deadline and any(p.poll() is None for p in procs.values()):
            time.sleep(2)
        for p in procs.values():
            p.terminate()
            p.wait()
        results = {}
        for name, (_, held) in arms.items():
            found = list_complete(Path(tmp) / name / "ckpt")
            accs = evaluate_checkpoints([path for path, _ in found], held, skill)
            results[name] = [(ledger.step, acc) for (_, ledger), acc in zip(found, accs)]
    print("\n| step | register | plain |\n|---:|---:|---:|")
    plain_by_step = dict(results["plain"])
    for step, acc in results["register"]:
        other = plain_by_step.get(step)
        print(f"| {step:,} | {acc:.2f} | {'-' if other is None else f'{other:.2f}'} |")
    reg, base = steps_to_pass(results["register"]), steps_to_pass(results["plain"])
    last = max(s for s, _ in results["plain"]) if results["plain"] else 0
    print(f"\nsteps to {PASS:.0%} on the held-out set: register {reg if reg else 'not reached'}, "
          f"plain (baseline) {base if base else f'not reached by step {last:,}'}")
    if reg:
        ratio = (base or last) / reg
        print(f"plain / register: {'>= ' if base is None else ''}{ratio:.1f}x")


if __name__ == "__main__":
    main()
