"""Key-value facts about the save (creation time, locked config values, ...)."""

from __future__ import annotations

from typing import Any

from backend.store.rows import Repository, dumps, loads


class Meta(Repository):
    async def get(self, key: str, default: Any = None) -> Any:
        value = await self.store.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else loads(value)

    async def set(self, key: str, value: Any) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, dumps(value)),
            )

    async def set_default(self, key: str, value: Any) -> bool:
        """Set only when absent; True when written."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING", (key, dumps(value))
            )
            return cur.rowcount == 1
