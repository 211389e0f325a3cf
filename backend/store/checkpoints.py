"""The checkpoint ledger as the daemon knows it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.store.rows import Repository, dumps, loads, now


@dataclass(frozen=True)
class CheckpointRow:
    step: int
    name: str
    path: str
    created_at: float
    quest_id: int | None
    skill: str | None
    level: int | None
    train_loss: float | None
    val_loss: float | None
    profile: str | None
    weights_sha256: str | None
    size_bytes: int | None
    ledger: dict[str, Any]
    pinned: bool
    deleted_at: float | None
    on_node: bool = False

    def folder(self, root: Path) -> Path:
        """Its folder: `path` is relative to the save's root (older saves may hold absolute ones)."""
        return Path(self.path) if Path(self.path).is_absolute() else root / self.path

    def resume_kind(self) -> str:
        """exact: it keeps its resume state (a battle can resume it exactly, the campaign carries its
        optimizer on); thinned: weights only (lean checkpoints); none: saved without one."""
        resume = self.ledger.get("resume") if isinstance(self.ledger, dict) else None
        if not resume:
            return "none"
        return "thinned" if resume.get("thinned") else "exact"


def checkpoint_from_row(row: Any) -> CheckpointRow:
    d = dict(row)
    d["ledger"] = loads(d["ledger"], {})
    d["pinned"] = bool(d["pinned"])
    d["on_node"] = bool(d.get("on_node", 0))
    return CheckpointRow(**d)


class Checkpoints(Repository):
    async def record(self, step: int, name: str, path: str, **fields: Any) -> bool:
        """Insert a checkpoint once (a repeated step is ignored); True when new."""
        fields.setdefault("created_at", now())
        if "ledger" in fields:
            fields["ledger"] = dumps(fields["ledger"])
        cols = {"step": step, "name": name, "path": path, **fields}
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                f"INSERT INTO checkpoints({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                "ON CONFLICT(step) DO NOTHING",
                tuple(cols.values()),
            )
            return cur.rowcount == 1

    async def update(self, step: int, **changes: Any) -> None:
        if "ledger" in changes:
            changes["ledger"] = dumps(changes["ledger"])
        sets = ", ".join(f"{k} = ?" for k in changes)
        async with self.store.transaction() as conn:
            await conn.execute(f"UPDATE checkpoints SET {sets} WHERE step = ?", (*changes.values(), step))

    async def get(self, step: int) -> CheckpointRow | None:
        row = await self.store.fetchone("SELECT * FROM checkpoints WHERE step = ?", (step,))
        return checkpoint_from_row(row) if row else None

    async def live(self) -> list[CheckpointRow]:
        """Checkpoints still on disk, newest first."""
        rows = await self.store.fetchall("SELECT * FROM checkpoints WHERE deleted_at IS NULL ORDER BY step DESC")
        return [checkpoint_from_row(r) for r in rows]

    async def mark_on_node(self, loaded: set[int]) -> None:
        """on_node = what the default node has loaded now (its pool evicts checkpoints by itself)."""
        marks = ", ".join(str(int(s)) for s in loaded) or "-1"  # no step is -1
        async with self.store.transaction() as conn:
            await conn.execute(f"UPDATE checkpoints SET on_node = (step IN ({marks})) "
                               f"WHERE on_node != (step IN ({marks}))")

    async def removed(self) -> list[CheckpointRow]:
        """Checkpoints gone from the trainer (their ledger rows stay), newest first."""
        rows = await self.store.fetchall("SELECT * FROM checkpoints WHERE deleted_at IS NOT NULL ORDER BY step DESC")
        return [checkpoint_from_row(r) for r in rows]

    async def newest(self) -> CheckpointRow | None:
        row = await self.store.fetchone(
            "SELECT * FROM checkpoints WHERE deleted_at IS NULL ORDER BY step DESC LIMIT 1"
        )
        return checkpoint_from_row(row) if row else None

    async def count(self) -> int:
        return int(await self.store.scalar("SELECT COUNT(*) FROM checkpoints"))
