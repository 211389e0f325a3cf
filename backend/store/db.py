"""The save slot's SQLite database through aiosqlite.

WAL mode (readers never block the writer), foreign keys, a busy timeout, and
ordered migrations tracked in `PRAGMA user_version`. Every write goes through
`Store.transaction()` (BEGIN IMMEDIATE, serialised per process by a lock).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from backend.errors import UserFacingError
from backend.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration

BUSY_TIMEOUT_MS = 10_000


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (trigger bodies keep their ';')."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


async def configure(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")


async def user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0])


async def apply_migration(conn: aiosqlite.Connection, migration: Migration) -> None:
    for statement in split_statements(migration.sql):
        await conn.execute(statement)
    await conn.execute(f"PRAGMA user_version = {migration.version}")


async def migrate(conn: aiosqlite.Connection, target: int = SCHEMA_VERSION) -> list[int]:
    """Apply missing migrations up to `target` in one transaction; return those applied.
    An up-to-date database is only read: readers never take the write lock here."""
    current = await user_version(conn)
    if current == target or (current > target and current <= SCHEMA_VERSION):
        return []
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await user_version(conn)  # re-read under the write lock
        if current > SCHEMA_VERSION:
            raise UserFacingError(
                f"the database has schema version {current}, newer than this program's {SCHEMA_VERSION}",
                fix="upgrade Realm of Training (git pull && pip install -e .)",
            )
        applied = []
        for migration in MIGRATIONS:
            if current < migration.version <= target:
                await apply_migration(conn, migration)
                applied.append(migration.version)
        await conn.execute("COMMIT")
        return applied
    except BaseException:
        await conn.execute("ROLLBACK")
        raise


class Store:
    """One connection to a save slot's database plus its repositories."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        from backend.store.repos import attach_repositories

        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        attach_repositories(self)

    @classmethod
    async def open(cls, path: Path, *, create: bool = False, target_version: int = SCHEMA_VERSION) -> "Store":
        path = Path(path)
        if not create and not path.exists():
            raise UserFacingError(
                f"no game database at {path}",
                fix="create the save with `realm init` (or point --save / REALM_SAVE at an existing one)",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = aiosqlite.Row
        try:
            await configure(conn)
            await migrate(conn, target_version)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; re-entrant within one task (inner blocks join)."""
        task = asyncio.current_task()
        if self._owner is task and task is not None:
            yield self.conn
            return
        async with self._lock:
            self._owner = task
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                await self.conn.execute("COMMIT")
            finally:
                self._owner = None

    async def fetchall(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap 'did anything change?'."""
        return int(await self.scalar("PRAGMA data_version"))

    async def schema_version(self) -> int:
        return await user_version(self.conn)
