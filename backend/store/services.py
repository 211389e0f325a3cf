"""Status of the services the daemon manages or talks to (the inference node)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.store.rows import Repository, dumps, loads, now


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    status: str  # up | down | starting | degraded
    url: str | None
    checked_at: float
    detail: dict[str, Any]


class Services(Repository):
    async def report(self, name: str, status: str, url: str | None = None, detail: dict[str, Any] | None = None) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO services(name, status, url, checked_at, detail) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET status = excluded.status, url = excluded.url, "
                "checked_at = excluded.checked_at, detail = excluded.detail",
                (name, status, url, now(), dumps(detail or {})),
            )

    async def get(self, name: str) -> ServiceStatus | None:
        row = await self.store.fetchone("SELECT * FROM services WHERE name = ?", (name,))
        if row is None:
            return None
        return ServiceStatus(row["name"], row["status"], row["url"], row["checked_at"], loads(row["detail"], {}))

    async def all(self) -> list[ServiceStatus]:
        rows = await self.store.fetchall("SELECT * FROM services ORDER BY name")
        return [ServiceStatus(r["name"], r["status"], r["url"], r["checked_at"], loads(r["detail"], {})) for r in rows]
