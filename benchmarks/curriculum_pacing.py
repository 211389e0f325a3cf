"""How a fresh nano save grows, and whether it keeps what it learns, played by the real daemon.

    python benchmarks/curriculum_pacing.py [--minutes 60] [--old-minutes 0] [--skip-baseline] [--keep DB]
    python benchmarks/curriculum_pacing.py --analyze DB [--minutes 60]   # a kept save's figures again

Game: a fresh save with the default realm.yaml (only the node's port moved), the real
daemon (auto-generation, the curriculum with rehearsal, the campaign, evaluation on the
local node, sparring riding along) for --minutes. Read from the save afterwards:

- the minute of every level-up, and every rusty / restored level;
- levels mastered, and levels *forgotten* at the end: a mastered level whose last 3
  re-checks (evaluations after it was mastered) average below 50 %;
- the worst jump in train loss (next / previous checkpoint) of one skill at one level: the
  previous checkpoint of that skill and level may come before another skill's battles, so
  forgetting shows here too; for reading it, the same between neighbouring checkpoints, at a
  skill's change of level (harder data), and over all checkpoints (BIN's loss is a tenth of
  SY's, so a change of skill is no jump of anything);
- the worst fall of ATK and of DEF from one checkpoint to the next, as the player sees them
  (the game's own fold of the event log);
- SY's best accuracy and its share of the steps trained.

Baselines, measured in the same run:
- the engine alone on one large BIN level-1 quest with the same training settings, its
  checkpoints evaluated afterwards on the level-1 evaluation set with the same rule: what
  the game's organisation costs over raw training (target: the game <= 2x);
- with --old-minutes M > 0, the old behaviour for M minutes: `training.continuity:
  per_quest` (a fresh AdamW, warmup and cosine every quest) with the old settings (lr
  3e-3, weight decay 1.0, a checkpoint every 100 steps, rehearsal 25 %, no minimum quest
  size). The curriculum's rehearsal mix is today's (it also rehearses mastered levels).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from backend.config import load_config  # noqa: E402
from backend.config.edit import set_value  # noqa: E402
from backend.config.model import GameRules  # noqa: E402
from backend.curriculum import level_up_due  # noqa: E402
from backend.daemon import control  # noqa: E402
from backend.daemon.jobs import hyperparameters  # noqa: E402
from backend.event_kinds import EventKind  # noqa: E402
from backend.progression import HeroStats, apply_event  # noqa: E402
from backend.progression.achievements import load_achievements  # noqa: E402
from backend.questgen import write_quest  # noqa: E402
from backend.savegame import init_save  # noqa: E402
from backend.skill_registry import load_skills  # noqa: E402
from backend.slot import SaveSlot  # noqa: E402
from backend.store import Store  # noqa: E402
from contracts.checkpoint import list_complete  # noqa: E402
from contracts.engine_job import DataFile, EngineJob  # noqa: E402
from daemon.harness import create_nano, free_port  # noqa: E402

TARGETS = {"bin_levels": 8, "forgotten": 0, "jump": 2.0, "game_vs_engine": 2.0}
FORGOTTEN_BELOW = 0.5
OLD_BEHAVIOUR = {"training.continuity": "per_quest", "training.weight_decay": "1.0", "training.schedule": "cosine",
                 "training.learning_rate": "0.003", "training.save_every": "100", "training.min_quest_steps": "0",
                 "curriculum.rehearsal": "0.25"}


Jump = tuple[float, int, float, float]


def worse(current: Jump | None, before: float, after: float, step: int) -> Jump | None:
    """The larger of `current` and after / before (before > 0)."""
    if before <= 0:
        return current
    ratio = after / before
    return (ratio, step, before, after) if current is None or ratio > current[0] else current


@dataclass
class Played:
    minutes: float
    level_ups: list[tuple[str, int, float]] = field(default_factory=list)  # (skill, level, minute)
    rusty: list[tuple[str, int, float, str]] = field(default_factory=list)  # (skill, level, minute, kind)
    forgotten: list[tuple[str, int, float]] = field(default_factory=list)  # (skill, level, mean of last 3)
    # (ratio, step, loss before, loss after) of the checkpoints' train loss:
    jump_level: Jump | None = None  # one skill at one level, since its previous checkpoint there
    jump_neighbours: Jump | None = None  # ... neighbouring checkpoints only
    jump_level_change: Jump | None = None  # one skill, at a change of its level
    jump_any: Jump | None = None  # any two neighbouring checkpoints
    atk_fall: Jump | None = None  # (ratio, step, ATK before, ATK after), from one checkpoint to the next
    def_fall: Jump | None = None
    sy_best: float | None = None
    sy_score: float | None = None  # best partial credit (share of words right) at any SY evaluation
    steps: int = 0
    sy_steps: int = 0

    def first(self, skill: str, level: int) -> float | None:
        return next((m for s, lv, m in self.level_ups if s == skill and lv == level), None)

    def mastered(self, skill: str) -> int:
        return max((lv for s, lv, _ in self.level_ups if s == skill), default=0)


async def play(root: Path, minutes: float, settings: dict[str, str]) -> Played:
    slot = SaveSlot(root)
    await init_save(slot)
    set_value(slot.config_path, "hosts.inference.port", str(free_port()))
    for key, value in settings.items():
        config, problems = set_value(slot.config_path, key, value)
        assert config is not None, problems
    started = time.time()
    result = control.start(slot)
    assert result.error is None, result.error
    try:
        async with await Store.open(slot.db_path) as store:
            while time.time() - started < minutes * 60:
                await asyncio.sleep(20)
                ups = await store.events.since(0, kinds=("skill_level_up",))
                got = sorted(f"{e.payload['skill']}{e.payload['level']}" for e in ups)
                print(f"  {(time.time() - started) / 60:5.1f} min: mastered {' '.join(got) or 'nothing yet'}", flush=True)
    finally:
        control.stop(slot)
    async with await Store.open(slot.db_path) as store:
        return await read_played(store, started, minutes)


async def read_played(store: Store, started: float, minutes: float) -> Played:
    out = Played(minutes)
    for e in await store.events.since(0, kinds=("skill_level_up", "skill_rusty", "skill_restored")):
        when = (e.ts - started) / 60
        if e.kind == "skill_level_up":
            out.level_ups.append((e.payload["skill"], int(e.payload["level"]), when))
        else:
            out.rusty.append((e.payload["skill"], int(e.payload["level"]), when, e.kind.removeprefix("skill_")))
    evals = await store.fetchall("SELECT skill, level, accuracy, score, checkpoint_step FROM evaluations ORDER BY id")
    for skill, level, _ in out.level_ups:
        history = [r["accuracy"] for r in evals if r["skill"] == skill and r["level"] == level]
        # re-checks: the evaluations after the one that mastered the level (default rules)
        up = next(i for i in range(len(history)) if level_up_due(history[: i + 1], GameRules()))
        rechecks = history[up + 1:]
        if len(rechecks) >= 3 and sum(rechecks[-3:]) / 3 < FORGOTTEN_BELOW:
            out.forgotten.append((skill, level, sum(rechecks[-3:]) / 3))
    sy = [r["accuracy"] for r in evals if r["skill"] == "sy"]
    out.sy_best = max(sy) if sy else None
    sy_scores = [r["score"] for r in evals if r["skill"] == "sy" and r["score"] is not None]
    out.sy_score = max(sy_scores) if sy_scores else None
    rows = await store.fetchall("SELECT step, train_loss, skill, level FROM checkpoints "
                                "WHERE train_loss IS NOT NULL ORDER BY step")
    last: dict[tuple[str | None, int | None], Any] = {}
    for a, b in zip([None, *rows], rows):
        same = last.get((b["skill"], b["level"]))
        if same is not None:
            out.jump_level = worse(out.jump_level, same["train_loss"], b["train_loss"], b["step"])
        last[(b["skill"], b["level"])] = b
        if a is None:
            continue
        out.jump_any = worse(out.jump_any, a["train_loss"], b["train_loss"], b["step"])
        if a["skill"] == b["skill"] and a["level"] == b["level"]:
            out.jump_neighbours = worse(out.jump_neighbours, a["train_loss"], b["train_loss"], b["step"])
        elif a["skill"] == b["skill"]:
            out.jump_level_change = worse(out.jump_level_change, a["train_loss"], b["train_loss"], b["step"])
    out.atk_fall, out.def_fall = stat_falls(await store.events.since(0))
    per_quest = await store.fetchall(
        "SELECT q.skill AS skill, MAX(m.job_step) AS steps FROM step_metrics m JOIN quests q ON q.id = m.quest_id "
        "GROUP BY m.quest_id")
    out.steps = sum(r["steps"] or 0 for r in per_quest)
    out.sy_steps = sum(r["steps"] or 0 for r in per_quest if r["skill"] == "sy")
    return out


def stat_falls(events: list[Any]) -> tuple[Jump | None, Jump | None]:
    """The worst fall of ATK and of DEF (before / after) from one checkpoint to the next, folding
    the event log as the game does."""
    stats, table = HeroStats(), load_achievements()
    atk = dfn = None
    before: tuple[float | None, float | None] = (None, None)
    for event in events:
        apply_event(stats, event, table)
        if event.kind != EventKind.CHECKPOINT_SAVED:
            continue
        step = int(event.payload.get("step") or 0)
        atk, dfn = fall(atk, before[0], stats.atk, step), fall(dfn, before[1], stats.defense, step)
        before = (stats.atk, stats.defense)
    return atk, dfn


def fall(current: Jump | None, before: float | None, after: float | None, step: int) -> Jump | None:
    """The larger of `current` and the fall before / after."""
    if not before or not after:
        return current
    return (before / after, step, before, after) if current is None or before / after > current[0] else current


def grade_checkpoints(paths: list[Path], problems: list, skill, max_new_tokens: int = 32) -> list[tuple[float, float]]:
    """(exact accuracy, mean score) of each checkpoint on `problems`, greedy, as the evaluator grades."""
    import torch

    from engine.chat import render_prompt_ids
    from engine.loading import load_model, load_tokenizer

    rows = []
    for path in paths:
        tok = load_tokenizer(path)
        model = load_model(path, torch.device("cpu")).eval()
        correct, score = 0, 0.0
        for p in problems:
            ids = render_prompt_ids(tok, [m.model_dump() for m in p.messages])
            with torch.no_grad():
                out = model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                                     eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
            grade = skill.grade(p, tok.decode(out[0, len(ids):], skip_special_tokens=True))
            correct += int(grade.correct)
            score += grade.score
        rows.append((correct / len(problems), score / len(problems)))
    return rows


def evaluate_checkpoints(paths: list[Path], problems: list, skill) -> list[float]:
    return [exact for exact, _ in grade_checkpoints(paths, problems, skill)]


@dataclass(frozen=True)
class Baseline:
    train_s: float  # from the engine's first step to the checkpoint that passes the rule
    wall_s: float  # from starting the engine process (its imports included), as the game's clock counts


def baseline(work: Path, nano: Path, examples: int) -> Baseline | None:
    """When the engine alone passes the level-up rule on BIN level 1 (checkpoints graded afterwards,
    so no evaluation shares its CPU)."""
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
    launched = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "engine", "run", str(job_file)], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if t0 is None and json.loads(line)["type"] == "step":
            t0 = json.loads(line)["ts"]
    proc.wait()
    found = list_complete(work / "baseline" / "ckpt")
    accs = evaluate_checkpoints([p for p, _ in found], skill.eval_set(1), skill)
    for i, (_path, ledger) in enumerate(found):
        if level_up_due(accs[: i + 1], config.game):
            saved = ledger.saved_at.timestamp()
            return Baseline(saved - (t0 or saved), saved - launched)
    return None


def fmt_jump(j: Jump | None, digits: int = 3) -> str:
    return f"{j[0]:.2f}x at step {j[1]} ({j[2]:.{digits}f} -> {j[3]:.{digits}f})" if j else "-"


def fmt_min(m: float | None, limit: float) -> str:
    return f"{m:.1f} min" if m is not None else f"not in {limit:g} min"


def report(name: str, p: Played, base: Baseline | None) -> None:
    print(f"\n### {name} ({p.minutes:g} minutes)\n")
    print("| measure | value | target |")
    print("|---|---:|---:|")
    print(f"| BIN levels mastered | {p.mastered('bin')} | >= {TARGETS['bin_levels']} |")
    forgotten = ", ".join(f"{s.upper()} L{lv} ({m:.0%})" for s, lv, m in p.forgotten) or "none"
    print(f"| levels forgotten at the end | {len(p.forgotten)} ({forgotten}) | {TARGETS['forgotten']} |")
    target = f"<= {TARGETS['jump']:g}x"
    print(f"| worst train-loss jump of one skill at one level, since its previous checkpoint there | "
          f"{fmt_jump(p.jump_level)} | {target} |")
    print(f"| ... between neighbouring checkpoints only | {fmt_jump(p.jump_neighbours)} | |")
    print(f"| ... at a skill's change of level (harder data) | {fmt_jump(p.jump_level_change)} | |")
    print(f"| ... any two neighbouring checkpoints (a change of skill is a change of data) | {fmt_jump(p.jump_any)} | |")
    print(f"| worst fall of ATK, checkpoint to checkpoint | {fmt_jump(p.atk_fall, 0)} | {target} |")
    print(f"| worst fall of DEF, checkpoint to checkpoint | {fmt_jump(p.def_fall, 0)} | {target} |")
    sy_l1 = p.first("sy", 1)
    print(f"| SY level 1 mastered | {fmt_min(sy_l1, p.minutes)} | within {p.minutes:g} min |")
    sy_best = f"{p.sy_best:.0%}" if p.sy_best is not None else "-"
    share = f"{p.sy_steps / p.steps:.0%}" if p.steps else "-"
    sy_score = f"{p.sy_score:.0%}" if p.sy_score is not None else "-"
    print(f"| SY best accuracy; best partial credit; SY's share of the steps | {sy_best}; {sy_score}; "
          f"{share} of {p.steps:,} | |")
    l1 = p.first("bin", 1)
    print(f"| BIN level 1 mastered | {fmt_min(l1, p.minutes)} | |")
    if base and l1:
        print(f"| game (from daemon start) / engine alone (from process start), BIN level 1 | "
              f"{l1 * 60 / base.wall_s:.2f}x | <= {TARGETS['game_vs_engine']:g}x |")
        print(f"| game (from daemon start) / engine alone (training seconds only) | {l1 * 60 / base.train_s:.2f}x | |")
    print("\nLevel-ups: " + ", ".join(f"{s.upper()} L{lv} {m:.1f}" for s, lv, m in p.level_ups))
    if p.rusty:
        print("Rusty / restored: " + ", ".join(f"{s.upper()} L{lv} {k} {m:.1f}" for s, lv, m, k in p.rusty))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--old-minutes", type=float, default=0.0, help="also play the old behaviour this long")
    parser.add_argument("--baseline-examples", type=int, default=60000)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--keep", type=Path, help="copy the played campaign's realm.db here (the evidence)")
    parser.add_argument("--analyze", type=Path, help="report a kept realm.db (minutes from its first event) and stop")
    args = parser.parse_args()
    if args.analyze:
        async with await Store.open(args.analyze) as store:
            first = await store.events.since(0)
            played = await read_played(store, first[0].ts if first else time.time(), args.minutes)
        report(f"The campaign kept in {args.analyze.name}", played, None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"game: a fresh nano save for {args.minutes:g} minutes (the campaign)")
        game = await play(work / "save", args.minutes, {})
        if args.keep:
            import shutil

            shutil.copy2(work / "save" / "realm.db", args.keep)
        old = None
        if args.old_minutes > 0:
            print(f"old behaviour: a fresh nano save for {args.old_minutes:g} minutes, one fresh job per quest")
            old = await play(work / "old", args.old_minutes, OLD_BEHAVIOUR)
        base = None
        if not args.skip_baseline:
            print("baseline: the engine alone on BIN level 1")
            base = baseline(work, create_nano(work / "nano"), args.baseline_examples)
            print(f"  the engine alone passes BIN level 1 after {base.train_s / 60:.2f} min of training, "
                  f"{base.wall_s / 60:.2f} min after its process started" if base
                  else "  the engine alone did not pass BIN level 1 within its quest")
        report("The campaign (defaults)", game, base)
        if old is not None:
            report("Old behaviour (per_quest)", old, base)


if __name__ == "__main__":
    asyncio.run(main())
