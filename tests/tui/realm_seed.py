"""A seeded save built with the real backend: init_save, the Store's repositories and
real events with fixed timestamps (so the screens, and their snapshots, are the same
on every run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backend.config import load_config
from backend.config.edit import set_value
from backend.event_kinds import EventKind
from backend.progression.achievements import load_achievements
from backend.progression.stats import HeroStats, apply_event
from backend.savegame import init_save
from backend.slot import SaveSlot
from backend.store import Event, Store
from game.data.state import TuiState, save_state

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class Chronicler:
    """Appends events at fixed times and, like the daemon's Awards, the level-ups,
    skill level-ups and achievements they earn (same payloads, same dedupe keys)."""

    def __init__(self, store: Store, rules: Any, start: float = T0) -> None:
        self.store = store
        self.ts = start
        self.stats = HeroStats(rules=rules)
        self.table = load_achievements()

    async def append(self, kind: str, payload: dict[str, Any], key: str | None = None) -> int | None:
        self.ts += 60
        event_id = await self.store.events.append(kind, payload, dedupe_key=key, ts=self.ts)
        if event_id is None:
            return None
        event = Event(event_id, self.ts, kind, payload, key)
        before_level, before_skills = self.stats.level, dict(self.stats.skill_levels)
        for a in apply_event(self.stats, event, self.table):
            self.ts += 1
            aid = await self.store.events.append(
                EventKind.ACHIEVEMENT, {"id": a.id, "name": a.name, "icon": a.icon, "description": a.description},
                dedupe_key=f"achievement:{a.id}", ts=self.ts)
            await self.store.achievements.unlock(a.id, aid, at=self.ts)
            apply_event(self.stats, Event(aid or 0, self.ts, EventKind.ACHIEVEMENT, {}), self.table)
        for level in range(before_level + 1, self.stats.level + 1):
            self.ts += 1
            await self.store.events.append(EventKind.LEVEL_UP, {"level": level}, dedupe_key=f"level_up:{level}", ts=self.ts)
        for skill, level in self.stats.skill_levels.items():
            for lv in range(before_skills.get(skill, 0) + 1, level + 1):
                self.ts += 1
                await self.store.events.append(EventKind.SKILL_LEVEL_UP, {"skill": skill, "level": lv},
                                               dedupe_key=f"skill_level_up:{skill}:{lv}", ts=self.ts)
        return event_id


def bad_report(path: str) -> dict[str, Any]:
    """A quarantine-rejected validation report, shaped like backend.validation.report.ValidationReport."""
    return {
        "validator": "realm-validator", "validator_version": "1", "path": path, "file_name": Path(path).name,
        "size_bytes": 2048, "sha256": "ab" * 32, "mtime_ns": None, "level": "standard", "levels_run": ["quick", "standard"],
        "policy": "quarantine", "max_bad_fraction": 0.2, "max_length": 512, "quest_schema": "chat_sft_v1",
        "schema_source": "detected", "verdict": "reject", "accepted": False,
        "summary": "rejected: 3 of 10 lines bad (30%), over the 20% allowed",
        "counts": {"lines": 10, "ok": 7, "bad": 3, "blank": 0}, "bad_fraction": 0.3,
        "reason_counts": {"json_invalid": 1, "no_assistant_turn": 2},
        "file_errors": [], "warnings": [],
        "bad_lines": [
            {"line": 2, "code": "json_invalid", "message": "not JSON: Expecting ',' delimiter at column 18",
             "fix": "write one JSON object per line", "excerpt": '{"messages": [{"role" "user"}', "byte_offset": 120},
            {"line": 5, "code": "no_assistant_turn", "message": "the last turn is from the user",
             "fix": "end every example with an assistant turn", "excerpt": '{"messages": [{"role": "user", ...', "byte_offset": 480},
            {"line": 9, "code": "no_assistant_turn", "message": "no assistant turn at all",
             "fix": "add the answer as an assistant turn", "excerpt": '{"messages": []}', "byte_offset": 900},
        ],
        "bad_ranges": {"json_invalid": [[2, 2]], "no_assistant_turn": [[5, 5], [9, 9]]},
        "tokens": None, "top_answer_share": None, "duration_s": 0.2,
    }


def sample(problem: str, answer: str, golden: str) -> dict[str, Any]:
    """Shaped like backend/daemon/evaluation.py's samples."""
    right = answer == golden
    return {"problem_id": "x", "prompt": problem, "answer": answer, "golden": golden, "correct": right,
            "score": 1.0 if right else 0.5, "detail": "exact" if right else "1 of 2 words right", "sha256": "ab" * 32}


async def seed_save(root: Path, *, seen: bool = True, battle: bool = True) -> SaveSlot:
    """A save where DIO has completed a quest, mastered BIN L1, reached level 2 and is
    in battle on BIN L2; the queue, a failed quest, five checkpoints, evaluations, the node."""
    slot = SaveSlot(root)
    slot.ensure_layout()
    async with await Store.open(slot.db_path, create=True) as store:
        await store.events.append(EventKind.SAVE_CREATED, {"hero": "DIO", "base_model": "nano"},
                                  dedupe_key="save_created", ts=T0)
    await init_save(slot)
    set_value(slot.config_path, "hosts.inference.port", "1")  # nothing listens there: the Oracle sees the node down
    config = load_config(slot.config_path, {})
    async with await Store.open(slot.db_path) as store:
        c = Chronicler(store, config.game)
        await c.append(EventKind.HERO_CREATED, {"path": str(slot.base_model_dir), "parameters": 852_096})
        await c.append(EventKind.DAEMON_STARTED, {"pid": 4242})

        q1_path = slot.quest_state_dir("completed") / "bin-l1-0001.jsonl"
        q1 = await store.quests.create("bin-l1-0001.jsonl", rel(slot, q1_path), state="completed", source="generator",
                                       skill="bin", level=1, examples=2000, schema="chat_sft_v1", steps_total=1200,
                                       steps_done=1200, created_at=T0 + 100, finished_at=T0 + 3000,
                                       validation={"verdict": "pass", "accepted": True, "summary": "all 2,000 lines passed",
                                                   "counts": {"lines": 2000, "ok": 2000, "bad": 0, "blank": 0}})
        await c.append(EventKind.QUEST_ADDED, {"quest_id": q1, "name": "bin-l1-0001.jsonl", "source": "generator"})
        await c.append(EventKind.QUEST_QUEUED, {"quest_id": q1, "name": "bin-l1-0001.jsonl", "priority": "normal", "examples": 2000})
        await c.append(EventKind.QUEST_STARTED, {"quest_id": q1, "name": "bin-l1-0001.jsonl", "skill": "bin", "level": 1, "attempt": 1})
        checkpoints = [(400, 2.1, 2.3), (800, 1.6, 1.8), (1200, 1.2, 1.4)]
        accuracies = {400: 0.8, 800: 0.8, 1200: 1.0}
        for step, train, val in checkpoints:
            await add_checkpoint(store, slot, c, step, train, val, q1, "bin", 1)
            await add_eval(store, c, step, "bin", 1, accuracies[step])
        await c.append(EventKind.QUEST_COMPLETED, {"quest_id": q1, "name": "bin-l1-0001.jsonl", "skill": "bin", "level": 1,
                                                   "steps": 1200, "final_step": 1200}, key=f"quest_completed:{q1}")
        await add_eval(store, c, 1200, "sy", 1, 0.2)
        await c.append(EventKind.CHAMPION, {"step": 1200, "accuracy": 1.0, "val_loss": 1.4, "promoted_by": "auto"})
        await store.meta.set_champion_step(1200)
        await c.append(EventKind.DEPLOYED, {"step": 1200, "sha256": "c0ffee" * 10 + "beef", "latency_s": 1.5})
        await store.meta.set_deployed_step(1200)
        await store.checkpoints.update(1200, on_node=1)
        await store.checkpoints.update(800, pinned=1)

        q2_path = slot.quest_state_dir("processing") / "bin-l2-0001.jsonl"
        q2 = await store.quests.create("bin-l2-0001.jsonl", rel(slot, q2_path), state="processing" if battle else "queued",
                                       source="generator", skill="bin", level=2, examples=2000, schema="chat_sft_v1",
                                       steps_total=800, steps_done=200, created_at=T0 + 3100)
        await c.append(EventKind.QUEST_ADDED, {"quest_id": q2, "name": "bin-l2-0001.jsonl", "source": "generator"})
        await c.append(EventKind.QUEST_QUEUED, {"quest_id": q2, "name": "bin-l2-0001.jsonl", "priority": "normal", "examples": 2000})
        if battle:
            await c.append(EventKind.QUEST_STARTED, {"quest_id": q2, "name": "bin-l2-0001.jsonl", "skill": "bin", "level": 2, "attempt": 1})
            await store.metrics.add_many([
                {"quest_id": q2, "ts": T0 + 4000 + i, "step": 1200 + 10 * i, "job_step": 10 * i, "total_steps": 800,
                 "loss": round(1.3 - 0.02 * i + (0.05 if i % 3 == 0 else 0.0), 4), "lr": 2e-3, "tokens_per_s": 19_000.0 + i,
                 "loss_ema": round(1.0 - 0.005 * i, 4),
                 "eta_s": 185.0 - 2 * i}
                for i in range(1, 31)
            ])
            await add_checkpoint(store, slot, c, 1500, 0.9, 1.1, q2, "bin", 2)

        q3 = await store.quests.create("sy-l1-0001.jsonl", rel(slot, slot.quest_state_dir("queued") / "sy-l1-0001.jsonl"),
                                       state="queued", priority="high", source="generator", skill="sy", level=1,
                                       examples=500, schema="syllo_v1", queued_at=T0 + 3200, created_at=T0 + 3200)
        await c.append(EventKind.QUEST_QUEUED, {"quest_id": q3, "name": "sy-l1-0001.jsonl", "priority": "high", "examples": 500})
        q4_path = rel(slot, slot.quest_state_dir("failed") / "my-notes.jsonl")
        q4 = await store.quests.create("my-notes.jsonl", q4_path, state="failed", priority="normal", source="player",
                                       examples=10, schema="chat_sft_v1", validation=bad_report(q4_path),
                                       fail_reason="3 bad line(s); first: line 2: json_invalid", created_at=T0 + 3300,
                                       finished_at=T0 + 3310)
        await c.append(EventKind.QUEST_FAILED, {"quest_id": q4, "name": "my-notes.jsonl", "reason": "3 bad lines (30%)"})
        await store.quests.create("bin-l2-0002.jsonl", rel(slot, slot.quest_state_dir("queued") / "bin-l2-0002.jsonl"),
                                  state="queued", priority="low", source="generator", skill="bin", level=2, examples=2000,
                                  schema="chat_sft_v1", queued_at=T0 + 3400, created_at=T0 + 3400)

        await store.skills.set("bin", 1, 2)
        await store.skills.set("sy", 0, 1)
        await store.services.report("inference_node", "up", "http://127.0.0.1:8765", {"loaded": ["checkpoint-1200"]})
        last = await store.events.last_id()
    if seen:
        save_state(slot.tui_state_path, TuiState(last_seen_event_id=last, last_seen_at=c.ts, theme=None))
    return slot


def rel(slot: SaveSlot, path: Path) -> str:
    """A path as the daemon stores it: relative to the save's root (so no temporary path reaches a screen)."""
    return str(path.relative_to(slot.root))


async def add_checkpoint(store: Store, slot: SaveSlot, c: Chronicler, step: int, train: float, val: float,
                         quest_id: int, skill: str, level: int) -> None:
    stamp = "20260101-0" + f"{step // 100:03d}"
    name = f"checkpoint-{step}-{stamp}"
    path = slot.checkpoints_dir / name
    path.mkdir(parents=True, exist_ok=True)
    ledger = {"step": step, "train_loss": train, "val_loss": val, "lr": 0.002, "epoch": 0.5, "tokens_seen": step * 4096,
              "skill": skill, "level": level, "quest_file": f"bin-l{level}-0001.jsonl",
              "weights_sha256": {"model.safetensors": f"{step:08x}" * 8}}
    (path / ".ledger.json").write_text(json.dumps(ledger))
    await store.checkpoints.record(step, name, rel(slot, path), created_at=T0 + step, quest_id=quest_id, skill=skill, level=level,
                                   train_loss=train, val_loss=val, weights_sha256=f"{step:08x}" * 8,
                                   size_bytes=3_500_000 + step, ledger=ledger)
    await c.append(EventKind.CHECKPOINT_SAVED, {"step": step, "name": name, "train_loss": train, "val_loss": val,
                                                "loss_ema": train + 0.1, "quest_id": quest_id, "skill": skill,
                                                "level": level},
                   key=f"checkpoint:{step}")


async def add_eval(store: Store, c: Chronicler, step: int, skill: str, level: int, accuracy: float) -> None:
    total = 5
    correct = round(accuracy * total)
    if skill == "bin":
        samples = [sample("①⓪ + ① =", "①①", "①①"), sample("①① + ①① =", "①①⓪" if correct > 2 else "①⓪", "①①⓪")]
    else:
        samples = [sample("Build the words from: ca, t, do, g", "cat dog" if correct else "cad tog", "cat dog")]
    await store.evaluations.record(step, skill, level, correct, total, samples)
    await c.append(EventKind.EVALUATION, {"step": step, "skill": skill, "level": level, "accuracy": correct / total,
                                          "correct": correct, "total": total}, key=f"eval:{step}:{skill}:{level}")
