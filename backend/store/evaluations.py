"""Evaluation results per checkpoint, skill and level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.store.rows import Repository, dumps, loads, now


@dataclass(frozen=True)
class Evaluation:
    id: int
    checkpoint_step: int
    skill: str
    level: int
    correct: int
    total: int
    accuracy: float
    samples: list[dict[str, Any]]
    created_at: float
    score: float | None = None  # mean partial credit of the problems (None: not recorded)


def evaluation_from_row(row: Any) -> Evaluation:
    d = dict(row)
    d["samples"] = loads(d["samples"], [])
    return Evaluation(**d)


class Evaluations(Repository):
    async def record(self, step: int, skill: str, level: int, correct: int, total: int, samples: list[dict[str, Any]]) -> bool:
        """Store one evaluation once per (checkpoint, skill, level); True when new."""
        accuracy = correct / total if total else 0.0
        scores = [float(s["score"]) for s in samples if isinstance(s.get("score"), (int, float))]
        score = sum(scores) / len(scores) if scores else None
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO evaluations(checkpoint_step, skill, level, correct, total, accuracy, samples, created_at, "
                "score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(checkpoint_step, skill, level) DO NOTHING",
                (step, skill, level, correct, total, accuracy, dumps(samples), now(), score),
            )
            return cur.rowcount == 1

    async def for_checkpoint(self, step: int) -> list[Evaluation]:
        rows = await self.store.fetchall(
            "SELECT * FROM evaluations WHERE checkpoint_step = ? ORDER BY skill, level", (step,)
        )
        return [evaluation_from_row(r) for r in rows]

    async def history(self, skill: str) -> list[Evaluation]:
        rows = await self.store.fetchall(
            "SELECT * FROM evaluations WHERE skill = ? ORDER BY checkpoint_step, level", (skill,)
        )
        return [evaluation_from_row(r) for r in rows]

    async def evaluated_steps(self) -> set[int]:
        rows = await self.store.fetchall("SELECT DISTINCT checkpoint_step FROM evaluations")
        return {r[0] for r in rows}
