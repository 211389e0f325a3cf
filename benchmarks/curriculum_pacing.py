"""How fast a fresh nano save masters BIN, played by the real daemon on the CPU.

    python benchmarks/curriculum_pacing.py [--minutes 30] [--skip-baseline]

Game: a fresh save with the default realm.yaml (only the node's port moved), the
real daemon (auto-generation, the curriculum, training, evaluation on the local
node, sparring) for --minutes. Reports minutes to master BIN level 1 (target <= 3)
and BIN levels mastered in 30 minutes (target >= 3), read from the event log.

Baseline, measured in the same run: the engine alone on one large BIN level-1
quest with the same training settings, its checkpoints evaluated afterwards on the
level-1 evaluation set (greedy, the engine's chat renderer) and the same level-up
rule applied; the baseline time is the training time of the checkpoint that
passes. The ratio game / baseline is what the game's organisation costs
(alternating skills, engine start-ups, evaluation cadence) over raw training.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from backend.config import load_config  # noqa: E402
from backend.config.edit import set_value  # noqa: E402
from backend.curriculum import level_up_due  # noqa: E402
from backend.daemon import control  # noqa: E402
from backend.questgen import write_quest  # noqa: E402
from backend.savegame import init_save  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from backend.slot import SaveSlot  # noqa: E402
from backend.store import Store  # noqa: E402
from contracts.checkpoint import list_complete  # noqa: E402
from contracts.engine_job import DataFile, EngineJob  # noqa: E402
from backend.daemon.jobs import hyperparameters  # noqa: E402
from daemon.harness import create_nano  # noqa: E402

TARGET_L1_MIN = 3.0
TARGET_LEVELS_30 = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def play(root: Path, minutes: float) -> tuple[float | None, dict[int, float]]:
    """Minutes to master BIN level 1, and minute of each BIN level-up."""
    slot = SaveSlot(root)
    await init_save(slot)
    set_value(slot.config_path, "hosts.inference.port", str(free_port()))
    started = time.time()
    result = control.start(slot)
    assert result.error is None, result.error
    levels: dict[int, float] = {}
    try:
        async with await Store.open(slot.db_path) as store:
            while time.time() - started < minutes * 60:
                await asyncio.sleep(10)
                for e in await store.events.since(0, kinds=("skill_level_up",)):
                    if e.payload["skill"] == "bin":
                        levels.setdefault(int(e.payload["level"]), (e.ts - started) / 60)
                mins = (time.time() - started) / 60
                print(f"  {mins:5.1f} min: BIN levels mastered {sorted(levels)}", flush=True)
    finally:
        control.stop(slot)
    return levels.get(1), levels


def evaluate_checkpoints(paths: list[Path], problems: list, skill) -> list[float]:
    import torch

    from engine.chat import render_prompt_ids
    from engine.loading import load_model, load_tokenizer

    accs = []
    for path in paths:
        tok = load_tokenizer(path)
        model = load_model(path, torch.device("cpu")).eval()
        correct = 0
        for p in problems:
            ids = render_prompt_ids(tok, [m.model_dump() for m in p.messages])
            with torch.no_grad():
                out = model.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False,
                                     eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
            answer = tok.decode(out[0, len(ids):], skip_special_tokens=True)
            correct += int(skill.grade(p, answer).correct)
        accs.append(correct / len(problems))
    return accs


def baseline(work: Path, nano: Path, examples: int) -> float | None:
    """Training seconds until the engine alone passes the level-up rule on BIN level 1."""
    config = load_config(work / "none.yaml")
    skill = load_skills()["bin"]
    quest = work / "baseline" / "bin-L01.jsonl"
    write_quest(skill, 1, examples, 3, quest)
    job = EngineJob(model_dir=str(nano), data_files=[DataFile(path=str(quest), schema="chat_sft_v1")],
                    hyperparameters=hyperparameters(config), save_every_steps=25, log_every_steps=25,
                    output_dir=str(work / "baseline" / "ckpt"), threads=config.hosts.trainer.threads)
    job_file = work / "baseline" / "job.json"
    job_file.write_text(job.model_dump_json(by_alias=True))
    t0 = None
    proc = subprocess.Popen([sys.executable, "-m", "engine", "run", str(job_file)], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if t0 is None and json.loads(line)["type"] == "step":
            t0 = json.loads(line)["ts"]
    proc.wait()
    found = list_complete(work / "baseline" / "ckpt")
    accs = evaluate_checkpoints([p for p, _ in found], skill.eval_set(1), skill)
    for i, (_path, ledger) in enumerate(found):
        if level_up_due(accs[: i + 1], config.game):
            return ledger.saved_at.timestamp() - (t0 or ledger.saved_at.timestamp())
    return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--baseline-examples", type=int, default=60000)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"game: a fresh nano save for {args.minutes:g} minutes")
        l1, levels = await play(work / "save", args.minutes)
        base = None
        if not args.skip_baseline:
            print("baseline: the engine alone on BIN level 1")
            base = baseline(work, create_nano(work / "nano"), args.baseline_examples)
        print()
        print("| measure | value | target | vs target |")
        print("|---|---:|---:|---:|")
        l1_text = f"{l1:.2f} min" if l1 is not None else f"> {args.minutes:g} min"
        print(f"| minutes to master BIN level 1 | {l1_text} | <= {TARGET_L1_MIN:g} | "
              f"{(TARGET_L1_MIN / l1 if l1 else 0):.2f}x |")
        within = sum(1 for m in levels.values() if m <= 30)
        print(f"| BIN levels mastered in 30 min | {within} | >= {TARGET_LEVELS_30} | {within / TARGET_LEVELS_30:.2f}x |")
        if base is not None:
            print(f"| baseline: engine alone to pass BIN level 1 | {base / 60:.2f} min | | |")
            if l1:
                print(f"\ngame / baseline for BIN level 1: {l1 * 60 / base:.2f}x")
        elif not args.skip_baseline:
            print("\nbaseline: the engine alone did not pass BIN level 1 within its quest")


if __name__ == "__main__":
    asyncio.run(main())
