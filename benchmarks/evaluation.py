"""Benchmark: one checkpoint's evaluation, one request per problem against one batched request.

    python benchmarks/evaluation.py [--repeats 3] [--threads 1] [--trained-steps 300]

The game evaluates every new checkpoint (every 50 steps) on the inference node while the
engine trains beside it on the same CPU. Measured in one run, on one nano checkpoint served
by a real `realm-node` subprocess on loopback, on the levels a young save evaluates (BIN
L2 being trained, BIN L1 re-checked, SY L1), with the game's evaluation settings
(temperature 0, evaluation.max_new_tokens):

- baseline: what the evaluator did before, `OracleClient.chat` once per problem, in turn;
- batched: `OracleClient.chat_batch`, all problems in one `/v1/batch/completions` request
  (chunks of MAX_BATCH_PROMPTS).

The two alternate for --repeats rounds; the median wall time of each and their ratio are
printed, with the node's CPU seconds for each (what the engine loses), and the answers
are checked to be the same. With --trained-steps N > 0 the checkpoint is nano DIO after at most N
engine steps (one epoch of 8,000 examples) on BIN L1 and L2 (answers that end like a played save's); 0 uses the random
weights (every answer runs to max_new_tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node import KEY, make_checkpoint, start_node  # noqa: E402  (benchmarks/node.py)


def trained_checkpoint(root: Path, steps: int) -> Path:
    """nano DIO after `steps` engine steps on BIN L1+L2 (the real engine, its save_checkpoint)."""
    import subprocess

    from backend.config.model import RealmConfig
    from backend.daemon.jobs import hyperparameters
    from backend.questgen import QuestPart, write_mixed_quest
    from backend.skill_registry import load_skills
    from contracts.engine_job import DataFile, EngineJob
    from engine.nano_model import create_nano

    base = create_nano(root / "base", seed=1)
    binary = load_skills()["bin"]
    data = root / "data.jsonl"
    write_mixed_quest([QuestPart(binary, 1, 4000), QuestPart(binary, 2, 4000)], 1, data)
    job = EngineJob(model_dir=str(base), data_files=[DataFile(path=str(data), schema="chat_sft_v1")],
                    hyperparameters=hyperparameters(RealmConfig()).model_copy(update={"max_steps": steps}),
                    save_every_steps=steps, output_dir=str(root / "models"))
    (root / "job.json").write_text(job.model_dump_json(by_alias=True), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "engine", "run", str(root / "job.json")], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return max((root / "models").glob("checkpoint-*"))


def plan() -> list[tuple[str, int, list]]:
    from backend.skill_registry import load_skills

    skills = load_skills()
    return [(sid, lv, skills[sid].eval_set(lv)) for sid, lv in (("bin", 2), ("bin", 1), ("sy", 1))]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main_async(args: argparse.Namespace) -> None:
    from backend.config.model import RealmConfig
    from backend.oracle import OracleClient

    max_tokens = RealmConfig().evaluation.max_new_tokens
    levels = plan()
    prompts = [[m.model_dump() for m in p.messages] for _, _, problems in levels for p in problems]
    with tempfile.TemporaryDirectory(prefix="realm-eval-bench-") as tmp:
        root = Path(tmp)
        folder = trained_checkpoint(root, args.trained_steps) if args.trained_steps else make_checkpoint(root)
        model = "checkpoint-" + str(int(folder.name.split("-")[1]))
        proc, url = start_node(folder.parent, args.threads)
        client = OracleClient(url, KEY, timeout_s=600)
        try:
            await client.load(model)

            async def sequential() -> list[str]:
                return [(await client.chat(model, m, temperature=0.0, max_tokens=max_tokens))[0] for m in prompts]

            async def batched() -> list[str]:
                return (await client.chat_batch(model, prompts, max_tokens=max_tokens))[0]

            await client.chat(model, prompts[0], temperature=0.0, max_tokens=4)  # warm
            times: dict[str, list[float]] = {"one request per problem": [], "batched": []}
            cpu: dict[str, list[float]] = {k: [] for k in times}
            answers: dict[str, list[str]] = {}
            for _ in range(args.repeats):
                for name, run in (("one request per problem", sequential), ("batched", batched)):
                    c, t = cpu_s(proc.pid), time.perf_counter()
                    answers[name] = await run()
                    times[name].append(time.perf_counter() - t)
                    cpu[name].append(cpu_s(proc.pid) - c)
        finally:
            await client.aclose()
            proc.terminate()
            proc.wait(30)
    same = answers["batched"] == answers["one request per problem"]
    base, fast = (statistics.median(times[k]) for k in times)
    print(f"checkpoint {model} ({'random weights' if not args.trained_steps else f'{args.trained_steps} steps'}), "
          f"{len(prompts)} problems ({', '.join(f'{s.upper()} L{lv} x{len(p)}' for s, lv, p in levels)}), "
          f"max_new_tokens {max_tokens}, {args.threads} node thread(s), median of {args.repeats}")
    for name in times:
        print(f"  {name:24s} {statistics.median(times[name]):7.2f} s wall  {statistics.median(cpu[name]):7.2f} s node CPU"
              f"  (runs: {', '.join(f'{t:.2f}' for t in times[name])})")
    mean_len = statistics.mean(len(a) for a in answers["batched"])
    print(f"  ratio: batched is {base / fast:.2f}x faster; same answers: {same}; mean answer {mean_len:.0f} characters")
    print(json.dumps({"problems": len(prompts), "sequential_s": round(base, 3), "batched_s": round(fast, 3),
                      "ratio": round(base / fast, 2), "same_answers": same}))
    if not same:
        raise SystemExit("batched answers differ from one-at-a-time answers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="the node's torch threads (its default is 1)")
    parser.add_argument("--trained-steps", type=int, default=300)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
