"""The catalog: every checkpoint (an asset) with its sha256 and size, and the zones that hold a
verified copy of it (`asset_copies`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.store.rows import Repository, now

CHECKPOINT = "checkpoint"
BACKUP = "backup"  # a database backup (backups/)
EXPORT = "export"  # a checkpoint exported to a folder (realm vault export)
BASE = "base"  # the hero's base model


@dataclass(frozen=True)
class Copy:
    zone: str
    path: str
    size_bytes: int | None
    verified_at: float | None
    state: str  # ok | corrupt | missing


class Catalog(Repository):
    async def register(self, name: str, path: str, sha256: str | None, size_bytes: int | None,
                       kind: str = CHECKPOINT) -> int:
        """The asset's id, recorded once (its sha256 and size are those of the first record)."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO assets(kind, name, path, sha256, size_bytes, meta, created_at) VALUES (?, ?, ?, ?, ?, '{}', ?) "
                "ON CONFLICT(kind, name) DO NOTHING", (kind, name, path, sha256, size_bytes, now()))
        return int(await self.store.scalar("SELECT id FROM assets WHERE kind = ? AND name = ?", (kind, name)))

    async def put_copy(self, name: str, zone: str, path: str, size_bytes: int | None, state: str = "ok",
                       kind: str = CHECKPOINT) -> None:
        asset = await self.store.scalar("SELECT id FROM assets WHERE kind = ? AND name = ?", (kind, name))
        if asset is None:
            raise KeyError(f"{kind} {name} is not in the catalog")
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO asset_copies(asset_id, zone, path, size_bytes, verified_at, state) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(asset_id, zone) DO UPDATE SET path = excluded.path, size_bytes = excluded.size_bytes, "
                "verified_at = excluded.verified_at, state = excluded.state",
                (asset, zone, path, size_bytes, now(), state))

    async def drop_copy(self, name: str, zone: str, kind: str = CHECKPOINT) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "DELETE FROM asset_copies WHERE zone = ? AND asset_id = (SELECT id FROM assets WHERE kind = ? AND name = ?)",
                (zone, kind, name))

    async def copies(self, name: str, kind: str = CHECKPOINT) -> list[Copy]:
        rows = await self.store.fetchall(
            "SELECT c.zone, c.path, c.size_bytes, c.verified_at, c.state FROM asset_copies c JOIN assets a "
            "ON a.id = c.asset_id WHERE a.kind = ? AND a.name = ? ORDER BY c.zone", (kind, name))
        return [Copy(*tuple(r)) for r in rows]

    async def in_zone(self, zone: str, kind: str = CHECKPOINT) -> dict[str, Copy]:
        """name -> copy of every asset of `kind` that `zone` holds."""
        rows = await self.store.fetchall(
            "SELECT a.name, c.zone, c.path, c.size_bytes, c.verified_at, c.state FROM asset_copies c JOIN assets a "
            "ON a.id = c.asset_id WHERE a.kind = ? AND c.zone = ?", (kind, zone))
        return {r[0]: Copy(*tuple(r)[1:]) for r in rows}

    async def asset(self, name: str, kind: str = CHECKPOINT) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM assets WHERE kind = ? AND name = ?", (kind, name))
        return dict(row) if row else None

    async def record(self, kind: str, name: str, path: str, sha256: str | None, size_bytes: int | None,
                     zone: str) -> None:
        """An asset and its one copy, recorded now (its sha256 and size as given)."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO assets(kind, name, path, sha256, size_bytes, meta, created_at) VALUES (?, ?, ?, ?, ?, '{}', ?) "
                "ON CONFLICT(kind, name) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, "
                "size_bytes = excluded.size_bytes", (kind, name, path, sha256, size_bytes, now()))
        await self.put_copy(name, zone, path, size_bytes, kind=kind)

    async def forget(self, kind: str, name: str) -> None:
        """An asset whose last copy is gone (a rotated backup)."""
        async with self.store.transaction() as conn:
            await conn.execute("DELETE FROM assets WHERE kind = ? AND name = ?", (kind, name))

    async def all(self) -> list[dict[str, Any]]:
        """Every asset with its copies, by kind then name."""
        rows = await self.store.fetchall("SELECT id, kind, name, path, sha256, size_bytes, created_at FROM assets "
                                         "ORDER BY kind, name")
        out = []
        for r in rows:
            copies = await self.copies(r["name"], kind=r["kind"])
            out.append({"kind": r["kind"], "name": r["name"], "path": r["path"], "sha256": r["sha256"],
                        "size_bytes": r["size_bytes"], "recorded_at": r["created_at"],
                        "copies": [c.__dict__ for c in copies]})
        return out
