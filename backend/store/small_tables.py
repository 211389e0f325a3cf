"""Skill state, achievements, assets and background tasks: small tables."""

from __future__ import annotations

from typing import Any

from backend.store.rows import Repository, dumps, loads, now


class SkillStates(Repository):
    async def set(self, skill: str, mastered_level: int, training_level: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO skill_state(skill, mastered_level, training_level, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(skill) DO UPDATE SET mastered_level = excluded.mastered_level, "
                "training_level = excluded.training_level, updated_at = excluded.updated_at",
                (skill, mastered_level, training_level, now()),
            )

    async def all(self) -> dict[str, dict[str, Any]]:
        rows = await self.store.fetchall("SELECT * FROM skill_state ORDER BY skill")
        return {r["skill"]: dict(r) for r in rows}


class Achievements(Repository):
    async def unlock(self, achievement_id: str, event_id: int | None, at: float | None = None) -> bool:
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO achievements(id, unlocked_at, event_id) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (achievement_id, at or now(), event_id),
            )
            return cur.rowcount == 1

    async def unlocked(self) -> dict[str, float]:
        rows = await self.store.fetchall("SELECT id, unlocked_at FROM achievements")
        return {r["id"]: r["unlocked_at"] for r in rows}


class Assets(Repository):
    async def put(self, kind: str, name: str, path: str, *, sha256: str | None = None, size_bytes: int | None = None, meta: dict[str, Any] | None = None) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO assets(kind, name, path, sha256, size_bytes, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(kind, name) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, "
                "size_bytes = excluded.size_bytes, meta = excluded.meta",
                (kind, name, path, sha256, size_bytes, dumps(meta or {}), now()),
            )

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM assets WHERE kind = ? AND name = ?", (kind, name))
        if row is None:
            return None
        d = dict(row)
        d["meta"] = loads(d["meta"], {})
        return d


class Tasks(Repository):
    async def register(self, name: str, priority: int, cooldown_s: float, resource: str = "light",
                       description: str = "") -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO tasks(name, priority, cooldown_s, resource, description) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET priority = excluded.priority, cooldown_s = excluded.cooldown_s, "
                "resource = excluded.resource, description = excluded.description",
                (name, priority, cooldown_s, resource, description),
            )

    async def ran(self, name: str, status: str, detail: str = "", next_run_at: float | None = None) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET last_run_at = ?, last_status = ?, last_detail = ?, runs = runs + 1, "
                "next_run_at = ? WHERE name = ?",
                (now(), status, detail, next_run_at, name),
            )

    async def all(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.store.fetchall("SELECT * FROM tasks ORDER BY priority DESC, name")]
