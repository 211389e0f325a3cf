"""What checking every trained micro-batch costs: the engine's LabelGuard against a whole step.

    python benchmarks/label_guard.py [--steps 60] [--tokens 1024]

In process, nano DIO's real setup (`engine.runner.build_setup`) on a generated BIN quest:
--steps optimizer steps are timed as the trainer runs them (collate, guard, forward,
backward, optimizer); then the guard alone is timed on the same steps' micro-batches. The
baseline is the step time of the same run; the target is a guard share below 2 %.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from backend.questgen import write_quest  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from contracts.engine_job import DataFile, EngineJob, Hyperparameters  # noqa: E402
from daemon.harness import create_nano  # noqa: E402
from engine.control import ControlChannel  # noqa: E402
from engine.events import EventWriter  # noqa: E402
from engine.runner import build_setup  # noqa: E402
from engine.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        nano = create_nano(work / "nano")
        quest = work / "bin.jsonl"
        write_quest(load_skills()["bin"], 3, 20_000, 1, quest)
        job = EngineJob(model_dir=str(nano), data_files=[DataFile(path=str(quest))], output_dir=str(work / "out"),
                        hyperparameters=Hyperparameters(tokens_per_micro_batch=args.tokens, max_steps=args.steps + 5,
                                                        validation_fraction=0.0), save_every_steps=10_000)
        trainer = Trainer(build_setup(job, EventWriter(io.StringIO()), ControlChannel()))
        trainer.train_step()  # warm-up
        plans = []
        t0 = time.perf_counter()
        for _ in range(args.steps):
            plans.append(trainer.current_step_plan())
            trainer.train_step()
        step_s = (time.perf_counter() - t0) / args.steps
        guard = trainer.s.label_guard
        guard_s = 0.0
        micro = 0
        for plan in plans:
            trainer.s.label_guard = None  # collate without the guard, then time the guard alone
            batches = trainer.collate_step(plan)
            trainer.s.label_guard = guard
            t1 = time.perf_counter()
            for n, batch in enumerate(batches):
                guard.check(batch, f"micro-batch {n}")
            guard_s += time.perf_counter() - t1
            micro += len(batches)
        guard_s /= args.steps
    print(f"steps: {args.steps}, micro-batches: {micro}, tokens per micro-batch: {args.tokens}")
    print(f"step (baseline, whole):   {step_s * 1e3:8.3f} ms")
    print(f"guard, all micro-batches: {guard_s * 1e3:8.3f} ms per step")
    print(f"guard / step: {guard_s / step_s:.2%} (target < 2 %)")


if __name__ == "__main__":
    main()
