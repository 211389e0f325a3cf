"""Ledger queries over the Vault: every checkpoint as plain data (`realm vault list --json`) and
the best checkpoints by a metric (`realm vault best --metric ...`). Read-only; the store's rows
and evaluations are the source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.errors import UserFacingError
from backend.store import Store
from backend.store.checkpoints import CheckpointRow
from backend.vault.ranking import SCORE_SQL

METRICS_HELP = ("val_loss, train_loss (lower is better), accuracy:SKILL (the champion's rule over that skill's "
                "evaluations: mean of level - 1 + accuracy) or accuracy:SKILL:LEVEL (that level's accuracy)")


@dataclass(frozen=True)
class Metric:
    kind: str  # val_loss | train_loss | accuracy
    skill: str | None = None
    level: int | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.kind != "accuracy"

    def label(self) -> str:
        if self.kind != "accuracy":
            return self.kind
        return f"accuracy:{self.skill}" + (f":{self.level}" if self.level is not None else "")


def parse_metric(text: str) -> Metric:
    """`val_loss`, `train_loss`, `accuracy:SKILL` or `accuracy:SKILL:LEVEL`."""
    parts = text.strip().split(":")
    if parts[0] in ("val_loss", "train_loss") and len(parts) == 1:
        return Metric(parts[0])
    if parts[0] == "accuracy" and len(parts) in (2, 3) and parts[1]:
        level = None
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) < 1:
                raise UserFacingError(f"metric {text!r}: the level must be a whole number from 1",
                                      fix="for example accuracy:bin:3")
            level = int(parts[2])
        return Metric("accuracy", parts[1].lower(), level)
    raise UserFacingError(f"unknown metric {text!r}", fix=f"use {METRICS_HELP}")


async def metric_values(store: Store, metric: Metric) -> dict[int, float]:
    """The metric of every live checkpoint that has it."""
    live = await store.checkpoints.live()
    if metric.kind in ("val_loss", "train_loss"):
        return {r.step: v for r in live if (v := getattr(r, metric.kind)) is not None}
    if metric.level is None:
        sql = (f"SELECT checkpoint_step, {SCORE_SQL} FROM evaluations WHERE skill = ? "
               "GROUP BY checkpoint_step")
        args: tuple[Any, ...] = (metric.skill,)
    else:
        sql = "SELECT checkpoint_step, AVG(accuracy) FROM evaluations WHERE skill = ? AND level = ? GROUP BY checkpoint_step"
        args = (metric.skill, metric.level)
    steps = {r.step for r in live}
    return {int(s): float(v) for s, v in await store.fetchall(sql, args) if s in steps}


async def best_checkpoints(store: Store, metric: Metric, top: int = 5) -> list[tuple[CheckpointRow, float]]:
    """The `top` live checkpoints by `metric`, best first (ties: the later step)."""
    values = await metric_values(store, metric)
    if not values:
        raise UserFacingError(f"no checkpoint in the vault has {metric.label()} yet",
                              fix="evaluations come after each checkpoint; `realm vault list` shows what there is")
    sign = 1.0 if metric.lower_is_better else -1.0
    order = sorted(values, key=lambda s: (sign * values[s], -s))[:max(top, 1)]
    rows = {r.step: r for r in await store.checkpoints.live()}
    return [(rows[s], values[s]) for s in order]


async def vault_entries(store: Store, root: Path) -> list[dict[str, Any]]:
    """Every live checkpoint as plain data, newest first: what `realm vault list --json` prints."""
    champion, deployed = await store.meta.champion_step(), await store.meta.deployed_step()
    evals: dict[int, list[dict[str, Any]]] = {}
    for r in await store.fetchall("SELECT checkpoint_step, skill, level, correct, total, accuracy, created_at "
                                  "FROM evaluations ORDER BY checkpoint_step, skill, level, id"):
        evals.setdefault(r[0], []).append({"skill": r[1], "level": r[2], "correct": r[3], "total": r[4],
                                           "accuracy": r[5], "at": r[6]})
    out = []
    for row in await store.checkpoints.live():
        out.append({
            "step": row.step, "name": row.name, "path": str(row.folder(root)), "saved_at": row.created_at,
            "quest_id": row.quest_id, "skill": row.skill, "level": row.level,
            "train_loss": row.train_loss, "val_loss": row.val_loss, "size_bytes": row.size_bytes,
            "weights_sha256": row.weights_sha256, "resume": row.resume_kind(),
            "champion": row.step == champion, "deployed": row.step == deployed, "pinned": row.pinned,
            "on_node": row.on_node, "on_trainer": row.folder(root).is_dir(),
            "copies": [{"zone": c.zone, "state": c.state, "verified_at": c.verified_at}
                       for c in await store.catalog.copies(row.name)],
            "evaluations": evals.get(row.step, []),
        })
    return out


async def locate(store: Store, root: Path, step: int) -> dict[str, Any]:
    """Where checkpoint `step` is: the trainer's folder (when it is there) and every copy the
    catalog knows, with its state and when it was last verified."""
    row = await store.checkpoints.get(step)
    if row is None:
        raise UserFacingError(f"checkpoint-{step} is not in the vault", fix="`realm vault list` shows what there is")
    copies = [c.__dict__ for c in await store.catalog.copies(row.name)]
    here = row.deleted_at is None and row.folder(root).is_dir()
    if here and not any(c["zone"] == "trainer" for c in copies):
        copies.insert(0, {"zone": "trainer", "path": row.path, "size_bytes": row.size_bytes, "verified_at": None,
                          "state": "ok"})
    copies = [c for c in copies if c["zone"] != "trainer" or here]
    return {"step": step, "name": row.name, "on_trainer": here, "copies": copies}
