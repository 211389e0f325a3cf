"""Open a save's database the way the daemon does: check integrity first, and when
the file is damaged set it aside, restore the newest good backup, and tell the player. A
missing database file is restored from the newest good backup the same way."""

from __future__ import annotations

from backend.event_kinds import EventKind
from backend.slot import SaveSlot
from backend.store.db import Store
from backend.store.integrity import RestoreReport, restore_if_damaged, restore_if_missing


async def open_checked(slot: SaveSlot) -> tuple[Store, RestoreReport | None]:
    report = restore_if_damaged(slot.db_path, slot.backups_dir) or restore_if_missing(slot.db_path, slot.backups_dir)
    store = await Store.open(slot.db_path, create=True)
    if report is not None:
        await store.events.append(EventKind.DATABASE_RESTORED, report.payload())
    return store, report
