"""A database older than the save's files (a restored backup): quest ids are never reused, the
quests it lost are recorded again from their files, and a move that cannot complete fails
that quest, never the battle loop."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from backend.progression import replay
from daemon.harness import DaemonProcess, chat_lines, drop_in_inbox, store_of, wait_until

pytestmark = pytest.mark.slow


async def state_of(store, quest_id: int) -> str | None:
    quest = await store.quests.get(quest_id)
    return quest.state if quest else None


def backup_copy(db, dest) -> None:
    src, out = sqlite3.connect(db), sqlite3.connect(dest)
    try:
        src.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, as a backup is
    finally:
        out.close()
        src.close()


async def test_an_older_database_never_reuses_a_quest_id(save, tmp_path) -> None:
    old_db = tmp_path / "before.db"
    backup_copy(save.db_path, old_db)  # the "backup": taken before any quest
    drop_in_inbox(save, "first.jsonl", chat_lines(400))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _is(store, 1, "completed"), 240, "quest #1 to complete")
    finally:
        await store.close()
        assert daemon.stop() == 0, daemon.tail()
    from backend.store.integrity import list_backups

    newest = list_backups(save.backups_dir)[0]  # a clean stop leaves a backup of its session
    with sqlite3.connect(newest) as db:
        assert db.execute("SELECT state FROM quests WHERE id = 1").fetchone() == ("completed",)
    # The restore: the database goes back to the copy; quests/completed/00001-first.jsonl stays.
    for suffix in ("-wal", "-shm"):
        save.db_path.with_name(save.db_path.name + suffix).unlink(missing_ok=True)
    shutil.copy2(old_db, save.db_path)
    steps_on_disk = sorted(int(p.name.split("-")[1]) for p in save.checkpoints_dir.glob("checkpoint-*"))
    assert steps_on_disk
    killed = save.checkpoints_dir / ".tmp-checkpoint-999-20260101-0000-4242"  # a killed engine's unfinished save
    killed.mkdir()
    (killed / "model.safetensors").write_bytes(b"\0" * 4096)
    drop_in_inbox(save, "first.jsonl", chat_lines(400, start=500))  # the same name: id 1 again would collide
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _is(store, 2, "completed"), 240, "the new quest to complete as #2")
        first, second = await store.quests.get(1), await store.quests.get(2)
        assert first.state == "completed" and first.source == "recovered" and first.name == "first.jsonl"
        assert (save.root / first.path).read_bytes() == chat_lines(400)
        assert second.name == "first.jsonl" and (save.root / second.path).read_bytes() == chat_lines(400, start=500)
        assert daemon.alive(), daemon.tail()
        # the checkpoints of quest #1 are listed again, and count as XP again; the temp folder is gone
        listed = {row.step for row in await store.checkpoints.live()}
        assert set(steps_on_disk) <= listed
        assert not killed.exists()
        warnings = [e.payload for e in await store.events.since(0, kinds=("warning",))]
        codes = {w.get("code") for w in warnings}
        assert {"checkpoints_recorded", "temp_checkpoint_removed"} <= codes
        removed = next(w for w in warnings if w.get("code") == "temp_checkpoint_removed")
        assert killed.name in removed["message"] and "4.0 KB" in removed["message"]
        stats = replay(await store.events.since(0))
        assert stats.xp == max(listed) and stats.quests_completed == 2 and stats.gold == 200  # nothing rolled back
    finally:
        await store.close()
        assert daemon.stop() == 0, daemon.tail()


async def _is(store, quest_id: int, state: str) -> bool:
    return await state_of(store, quest_id) == state
