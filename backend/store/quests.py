"""Quests: one row per quest file, following its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from backend.store.rows import Repository, dumps, loads, now

PRIORITY_ORDER = "CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"
STATES = ("inbox", "validating", "queued", "processing", "completed", "failed", "deleted")
PRIORITIES = ("high", "normal", "low")


@dataclass(frozen=True)
class Quest:
    id: int
    name: str
    path: str
    state: str
    priority: str
    schema: str | None
    skill: str | None
    level: int | None
    examples: int | None
    source: str
    generator_id: str | None
    generator_version: str | None
    sha256: str | None
    size_bytes: int | None
    validation: dict[str, Any] | None
    fail_reason: str | None
    steps_total: int | None
    steps_done: int
    attempts: int
    created_at: float
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    updated_at: float
    validation_level: str | None = None


QUEST_COLUMNS = tuple(f.name for f in fields(Quest))


def quest_from_row(row: Any) -> Quest:
    values = {k: row[k] for k in row.keys() if k in QUEST_COLUMNS}
    values["validation"] = loads(values.get("validation"))
    return Quest(**values)


class Quests(Repository):
    async def create(self, name: str, path: str, *, state: str = "validating", priority: str = "normal", source: str = "inbox", **extra: Any) -> int:
        ts = now()
        columns = {"name": name, "path": path, "state": state, "priority": priority, "source": source,
                   "created_at": ts, "updated_at": ts, **extra}
        if "validation" in columns:
            columns["validation"] = dumps(columns["validation"])
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                f"INSERT INTO quests({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                tuple(columns.values()),
            )
            return int(cur.lastrowid)

    async def create_with_id(self, quest_id: int, name: str, path: str, *, state: str, **extra: Any) -> None:
        """Record a quest under a known id (a file on disk the database lost, e.g. after a restore)."""
        ts = now()
        columns = {"id": quest_id, "name": name, "path": path, "state": state, "created_at": ts, "updated_at": ts,
                   **extra}
        async with self.store.transaction() as conn:
            await conn.execute(f"INSERT INTO quests({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                               tuple(columns.values()))

    async def raise_id_floor(self, highest: int) -> int:
        """Make the next new quest id larger than `highest` (ids named by files on disk are never
        reused, even when the database is older than the files); returns the floor in force."""
        async with self.store.transaction() as conn:
            row = await (await conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'quests'")).fetchone()
            current = int(row[0]) if row else 0
            if highest > current:
                if row:
                    await conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'quests'", (highest,))
                else:
                    await conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES ('quests', ?)", (highest,))
            return max(highest, current)

    async def update(self, quest_id: int, **changes: Any) -> None:
        unknown = set(changes) - set(QUEST_COLUMNS)
        if unknown:
            raise ValueError(f"unknown quest columns: {sorted(unknown)}")
        if "validation" in changes:
            changes["validation"] = dumps(changes["validation"])
        changes["updated_at"] = now()
        sets = ", ".join(f"{k} = ?" for k in changes)
        async with self.store.transaction() as conn:
            await conn.execute(f"UPDATE quests SET {sets} WHERE id = ?", (*changes.values(), quest_id))

    async def change_state(self, quest_id: int, old: str, new: str) -> bool:
        """Move a quest from state `old` to `new` only if it is still in `old` (no other loop took it)."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute("UPDATE quests SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                                        (new, now(), quest_id, old))
            return cursor.rowcount == 1

    async def get(self, quest_id: int) -> Quest | None:
        row = await self.store.fetchone("SELECT * FROM quests WHERE id = ?", (quest_id,))
        return quest_from_row(row) if row else None

    async def list(self, states: tuple[str, ...] | None = None) -> list[Quest]:
        sql, params = "SELECT * FROM quests", ()
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            params = tuple(states)
        sql += f" ORDER BY CASE state WHEN 'processing' THEN 0 WHEN 'queued' THEN 1 WHEN 'validating' THEN 2 ELSE 3 END, {PRIORITY_ORDER}, COALESCE(queued_at, created_at), id"
        return [quest_from_row(r) for r in await self.store.fetchall(sql, params)]

    async def next_queued(self) -> Quest | None:
        """High before normal before low; first in, first out within a priority."""
        row = await self.store.fetchone(
            f"SELECT * FROM quests WHERE state = 'queued' ORDER BY {PRIORITY_ORDER}, queued_at, id LIMIT 1"
        )
        return quest_from_row(row) if row else None

    async def steps_trained(self, skill: str, level: int) -> int:
        """Optimizer steps of the quests that fought their own battle at this skill level (quests
        that rode along with a larger one have no steps_total of their own and are not counted)."""
        row = await self.store.fetchone(
            "SELECT COALESCE(SUM(steps_done), 0) AS n FROM quests WHERE skill = ? AND level = ? "
            "AND steps_total IS NOT NULL", (skill, level))
        return int(row["n"]) if row else 0

    async def in_state(self, state: str) -> list[Quest]:
        return await self.list((state,))

    async def counts(self) -> dict[str, int]:
        rows = await self.store.fetchall("SELECT state, COUNT(*) AS n FROM quests GROUP BY state")
        out = {s: 0 for s in STATES}
        out.update({r["state"]: r["n"] for r in rows})
        return out

    async def queued_by_priority(self) -> dict[str, int]:
        rows = await self.store.fetchall("SELECT priority, COUNT(*) AS n FROM quests WHERE state = 'queued' GROUP BY priority")
        out = {p: 0 for p in PRIORITIES}
        out.update({r["priority"]: r["n"] for r in rows})
        return out
