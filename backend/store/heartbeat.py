"""The daemon's heartbeat: every reader can tell a live daemon from a dead one."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from backend.store.rows import Repository, now

STALE_AFTER_BEATS = 3.0


@dataclass(frozen=True)
class Heartbeat:
    pid: int
    host: str
    started_at: float
    beat_at: float
    interval_s: float
    state: str
    detail: str

    def alive(self, at: float | None = None) -> bool:
        """Fresh beat, and (on this host) the process still exists."""
        at = now() if at is None else at
        if self.state == "stopped":
            return False
        if at - self.beat_at > max(self.interval_s * STALE_AFTER_BEATS, 5.0):
            return False
        return self.host != socket.gethostname() or pid_exists(self.pid)


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeats(Repository):
    async def beat(self, pid: int, started_at: float, interval_s: float, state: str, detail: str = "") -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO heartbeat(id, pid, host, started_at, beat_at, interval_s, state, detail) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, "
                "host = excluded.host, started_at = excluded.started_at, beat_at = excluded.beat_at, "
                "interval_s = excluded.interval_s, state = excluded.state, detail = excluded.detail",
                (pid, socket.gethostname(), started_at, now(), interval_s, state, detail),
            )

    async def read(self) -> Heartbeat | None:
        row = await self.store.fetchone("SELECT * FROM heartbeat WHERE id = 1")
        if row is None:
            return None
        return Heartbeat(row["pid"], row["host"], row["started_at"], row["beat_at"], row["interval_s"], row["state"], row["detail"])
