"""Key-value facts about the save (creation time, locked config values, ...)."""

from __future__ import annotations

from typing import Any

from backend.store.rows import Repository, dumps, loads


CHAMPION_KEY = "champion_step"
DEPLOYED_KEY = "deployed_step"


class Meta(Repository):
    """Key-value facts; the ones every part reads have typed accessors (no key spelled twice)."""

    async def champion_step(self) -> int | None:
        """The champion: the checkpoint with the best evaluations (or the one the player promoted)."""
        value = await self.get(CHAMPION_KEY)
        return int(value) if value is not None else None

    async def set_champion_step(self, step: int) -> None:
        await self.set(CHAMPION_KEY, step)

    async def deployed_step(self) -> int | None:
        """The checkpoint the inference node serves by default (the champion, once deployed)."""
        value = await self.get(DEPLOYED_KEY)
        return int(value) if value is not None else None

    async def set_deployed_step(self, step: int) -> None:
        await self.set(DEPLOYED_KEY, step)

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
