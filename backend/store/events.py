"""The append-only event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.store.rows import Repository, dumps, loads, now


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None


def event_from_row(row: Any) -> Event:
    return Event(row["id"], row["ts"], row["kind"], loads(row["payload"], {}), row["dedupe_key"])


class EventLog(Repository):
    async def append(
        self, kind: str, payload: dict[str, Any] | None = None, *, dedupe_key: str | None = None, ts: float | None = None
    ) -> int | None:
        """Append one event; with a dedupe_key already in the log nothing is written (returns None)."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO events(ts, kind, payload, dedupe_key) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(dedupe_key) DO NOTHING",
                (ts if ts is not None else now(), kind, dumps(payload or {}), dedupe_key),
            )
            return cur.lastrowid if cur.rowcount else None

    async def has(self, dedupe_key: str) -> bool:
        return await self.store.scalar("SELECT 1 FROM events WHERE dedupe_key = ?", (dedupe_key,)) is not None

    async def since(self, after_id: int = 0, kinds: tuple[str, ...] | None = None, limit: int | None = None) -> list[Event]:
        sql, params = "SELECT * FROM events WHERE id > ?", [after_id]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += list(kinds)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [event_from_row(r) for r in await self.store.fetchall(sql, tuple(params))]

    async def recent(self, n: int, kinds: tuple[str, ...] | None = None) -> list[Event]:
        """The newest n events, oldest first."""
        sql, params = "SELECT * FROM events", []
        if kinds:
            sql += f" WHERE kind IN ({','.join('?' * len(kinds))})"
            params += list(kinds)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = await self.store.fetchall(sql, (*params, n))
        return [event_from_row(r) for r in reversed(rows)]

    async def last_id(self) -> int:
        return int(await self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM events"))

    async def first_after_ts(self, ts: float) -> int:
        """The id of the last event at or before `ts` (0 when none)."""
        return int(await self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM events WHERE ts <= ?", (ts,)))
