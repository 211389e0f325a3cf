import os
from pathlib import Path

import pytest

from backend.event_kinds import EventKind
from backend.slot import SaveSlot
from backend.store import Store
from backend.store.integrity import backup_online, check_integrity, list_backups, rotate
from backend.store.recovery import open_checked


async def seeded_with_backup(slot: SaveSlot) -> Path:
    async with await Store.open(slot.db_path) as store:
        await store.events.append(EventKind.QUEST_COMPLETED, {"quest_id": 1, "final_step": 100}, dedupe_key="quest_completed:1")
        backup = backup_online(slot.db_path, slot.backups_dir, keep=3)
        await store.events.append(EventKind.QUEST_COMPLETED, {"quest_id": 2, "final_step": 200}, dedupe_key="quest_completed:2")
    return backup


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3 + 100])


@pytest.mark.parametrize("damage", [garbage, truncate], ids=["garbage", "truncated"])
async def test_damaged_database_is_set_aside_and_restored(new_save: SaveSlot, damage) -> None:
    backup = await seeded_with_backup(new_save)
    assert check_integrity(backup) == (True, "ok")
    for side in ("-wal", "-shm"):
        Path(str(new_save.db_path) + side).unlink(missing_ok=True)
    damage(new_save.db_path)
    damaged_bytes = new_save.db_path.read_bytes()
    assert not check_integrity(new_save.db_path)[0]

    store, report = await open_checked(new_save)
    try:
        assert report is not None and report.backup == backup
        assert report.moved_to.read_bytes() == damaged_bytes  # set aside, not deleted
        keys = [e.dedupe_key for e in await store.events.since(0)]
        assert "quest_completed:1" in keys and "quest_completed:2" not in keys  # newer changes lost, and said so
        restored = (await store.events.recent(1))[0]
        assert restored.kind == EventKind.DATABASE_RESTORED
        assert "lost" in restored.payload and restored.payload["backup"] == str(backup)
    finally:
        await store.close()
    assert check_integrity(new_save.db_path)[0]


async def test_healthy_database_is_left_alone(new_save: SaveSlot) -> None:
    store, report = await open_checked(new_save)
    await store.close()
    assert report is None and not (new_save.backups_dir / "damaged").exists()


async def test_damaged_without_backup_starts_fresh_and_says_so(new_save: SaveSlot) -> None:
    garbage(new_save.db_path)
    store, report = await open_checked(new_save)
    try:
        assert report is not None and report.backup is None
        events = await store.events.since(0)
        assert events[-1].kind == EventKind.DATABASE_RESTORED
        assert "no good backup" in events[-1].payload["lost"]
    finally:
        await store.close()


async def test_backups_rotate(new_save: SaveSlot) -> None:
    async with await Store.open(new_save.db_path):
        for i in range(4):
            p = backup_online(new_save.db_path, new_save.backups_dir, keep=10)
            p.rename(p.with_name(f"realm-2026010{i}-000000.db"))
    assert len(rotate(new_save.backups_dir, keep=2)) == 2
    assert [p.name for p in list_backups(new_save.backups_dir)] == ["realm-20260103-000000.db", "realm-20260102-000000.db"]


@pytest.mark.parametrize("command", [["status"], ["quest", "list"], ["quest", "show", "1"], ["vault", "list"]])
async def test_cli_on_a_damaged_database_says_what_to_do(new_save: SaveSlot, command: list[str]) -> None:
    import subprocess
    import sys

    await seeded_with_backup(new_save)
    for side in ("-wal", "-shm"):
        Path(str(new_save.db_path) + side).unlink(missing_ok=True)
    garbage(new_save.db_path)
    out = subprocess.run([sys.executable, "-m", "backend.cli", *command, "--save", str(new_save.root)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "database is damaged" in out.stderr and "realm daemon start" in out.stderr and "(1 in " in out.stderr


async def test_a_missing_database_is_restored_from_its_backup_never_started_empty(new_save: SaveSlot) -> None:
    import subprocess
    import sys

    backup = await seeded_with_backup(new_save)
    for side in ("", "-wal", "-shm"):
        Path(str(new_save.db_path) + side).unlink(missing_ok=True)

    def realm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "backend.cli", *args, "--save", str(new_save.root)],
                              capture_output=True, text=True, timeout=120)

    status = realm("status")
    assert status.returncode == 2 and "database is missing" in status.stderr and "realm daemon start" in status.stderr
    init = realm("init")
    assert init.returncode == 2 and "empty history" in init.stderr and "--fresh" in init.stderr
    assert not new_save.db_path.exists()  # init refused: nothing was created
    store, report = await open_checked(new_save)  # what `realm daemon start` does first
    try:
        assert report is not None and report.backup == backup and report.moved_to is None
        keys = [e.dedupe_key for e in await store.events.since(0)]
        assert "quest_completed:1" in keys
        restored = (await store.events.recent(1))[0]
        assert restored.kind == EventKind.DATABASE_RESTORED and restored.payload["reason"] == "the database file was missing"
    finally:
        await store.close()
