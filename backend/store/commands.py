"""The command table: how the TUI and the CLI ask the daemon to act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.store.rows import Repository, dumps, loads, now


@dataclass(frozen=True)
class Command:
    id: int
    ts: float
    source: str
    kind: str
    payload: dict[str, Any]
    status: str
    result: Any
    done_at: float | None


def command_from_row(row: Any) -> Command:
    return Command(
        row["id"], row["ts"], row["source"], row["kind"], loads(row["payload"], {}),
        row["status"], loads(row["result"]), row["done_at"],
    )


class Commands(Repository):
    async def submit(self, kind: str, payload: dict[str, Any] | None = None, *, source: str = "cli") -> int:
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO commands(ts, source, kind, payload) VALUES (?, ?, ?, ?)",
                (now(), source, kind, dumps(payload or {})),
            )
            return int(cur.lastrowid)

    async def pending(self, limit: int = 50) -> list[Command]:
        rows = await self.store.fetchall(
            "SELECT * FROM commands WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
        )
        return [command_from_row(r) for r in rows]

    async def claim(self, command_id: int) -> bool:
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "UPDATE commands SET status = 'running' WHERE id = ? AND status = 'pending'", (command_id,)
            )
            return cur.rowcount == 1

    async def finish(self, command_id: int, ok: bool, result: Any = None) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE commands SET status = ?, result = ?, done_at = ? WHERE id = ?",
                ("done" if ok else "failed", dumps(result), now(), command_id),
            )

    async def get(self, command_id: int) -> Command | None:
        row = await self.store.fetchone("SELECT * FROM commands WHERE id = ?", (command_id,))
        return command_from_row(row) if row else None

    async def recover_running(self) -> int:
        """After a daemon restart, commands left 'running' go back to 'pending'."""
        async with self.store.transaction() as conn:
            cur = await conn.execute("UPDATE commands SET status = 'pending' WHERE status = 'running'")
            return cur.rowcount
