"""Step metrics of battles, in their own table (the event log keeps milestones)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from backend.store.rows import Repository, now


@dataclass(frozen=True)
class StepMetric:
    id: int
    quest_id: int | None
    ts: float
    step: int
    job_step: int | None
    total_steps: int | None
    loss: float | None
    lr: float | None
    grad_norm: float | None
    tokens_per_s: float | None
    supervised_tokens_per_s: float | None
    padding_fraction: float | None
    mfu: float | None
    peak_memory_mb: float | None
    eta_s: float | None
    loss_ema: float | None = None


METRIC_COLUMNS = tuple(f.name for f in fields(StepMetric) if f.name != "id")


class Metrics(Repository):
    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = METRIC_COLUMNS
        async with self.store.transaction() as conn:
            await conn.executemany(
                f"INSERT INTO step_metrics({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(r.get(c, now() if c == "ts" else None) for c in cols) for r in rows],
            )

    async def for_quest(self, quest_id: int, limit: int = 200) -> list[StepMetric]:
        rows = await self.store.fetchall(
            "SELECT * FROM (SELECT * FROM step_metrics WHERE quest_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id",
            (quest_id, limit),
        )
        return [StepMetric(**dict(r)) for r in rows]

    async def latest(self) -> StepMetric | None:
        row = await self.store.fetchone("SELECT * FROM step_metrics ORDER BY id DESC LIMIT 1")
        return StepMetric(**dict(row)) if row else None

    async def last_id(self) -> int:
        return int(await self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM step_metrics"))

    async def loss_curves(self, points: int = 300, least: int = 16) -> dict[str, list[tuple[int, float]]]:
        """Each skill's train loss over the campaign (the skill of the step's quest; '' for the
        player's own quests), as at most about `points` (step, mean) pairs per skill: the steps are
        cut into equal buckets (at least `least` steps), each skill's losses in one averaged. Per
        skill, because BIN's loss is a tenth of SY's: one curve over both is a saw of quest changes.
        The bucket is a power of two, so the buckets (and the picture) stay put as steps come in:
        only the newest bucket moves, until the campaign doubles."""
        top = int(await self.store.scalar("SELECT COALESCE(MAX(step), 0) FROM step_metrics"))
        bucket = max(least, 1 << max(0, (-(-top // max(1, points)) - 1).bit_length()))
        rows = await self.store.fetchall(
            "SELECT COALESCE(q.skill, '') AS skill, MAX(m.step) AS step, AVG(m.loss) AS loss FROM step_metrics m "
            "LEFT JOIN quests q ON q.id = m.quest_id WHERE m.loss IS NOT NULL "
            "GROUP BY COALESCE(q.skill, ''), m.step / ? ORDER BY step", (bucket,))
        out: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            out.setdefault(r["skill"], []).append((int(r["step"]), float(r["loss"])))
        return out
