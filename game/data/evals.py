"""Every evaluation's figures (not its samples), read incrementally: only rows newer
than the last look are fetched, so refreshing the Vault or the Guild stays cheap."""

from __future__ import annotations

from dataclasses import dataclass

from backend.store import Store


@dataclass(frozen=True)
class EvalPoint:
    id: int
    step: int
    skill: str
    level: int
    correct: int
    total: int
    accuracy: float


class EvalIndex:
    def __init__(self) -> None:
        self.points: list[EvalPoint] = []
        self.last_id = 0

    async def update(self, store: Store) -> bool:
        """Fetch evaluations added since the last call; True when there were any."""
        rows = await store.fetchall(
            "SELECT id, checkpoint_step, skill, level, correct, total, accuracy FROM evaluations WHERE id > ? ORDER BY id",
            (self.last_id,),
        )
        for r in rows:
            self.points.append(EvalPoint(r["id"], r["checkpoint_step"], r["skill"], r["level"], r["correct"], r["total"], r["accuracy"]))
        if rows:
            self.last_id = rows[-1]["id"]
        return bool(rows)

    def by_step(self) -> dict[int, list[EvalPoint]]:
        out: dict[int, list[EvalPoint]] = {}
        for p in self.points:
            out.setdefault(p.step, []).append(p)
        return out

    def history(self, skill: str) -> dict[int, tuple[float, ...]]:
        """level -> accuracies in checkpoint order."""
        out: dict[int, list[float]] = {}
        for p in sorted((p for p in self.points if p.skill == skill), key=lambda p: (p.step, p.id)):
            out.setdefault(p.level, []).append(p.accuracy)
        return {lv: tuple(v) for lv, v in sorted(out.items())}

    def count(self, skill: str) -> int:
        return sum(1 for p in self.points if p.skill == skill)

    def skills(self) -> set[str]:
        return {p.skill for p in self.points}
