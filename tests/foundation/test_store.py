import sqlite3
from pathlib import Path

import pytest

from backend.store import SCHEMA_VERSION, Store
from backend.store.db import migrate
from backend.store.migrations import MIGRATIONS


async def test_migrates_empty_database(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        mode = await store.scalar("PRAGMA journal_mode")
        assert mode == "wal"
        assert await store.scalar("PRAGMA foreign_keys") == 1
        assert await store.scalar("PRAGMA busy_timeout") >= 5000


async def test_upgrades_older_schema_in_place(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with await Store.open(db, create=True, target_version=1) as old:
        assert await old.schema_version() == 1
        await old.conn.execute("BEGIN IMMEDIATE")
        await old.conn.execute(
            "INSERT INTO quests(name, path, state, created_at, updated_at) VALUES ('q.jsonl', 'quests/queued/q.jsonl', 'queued', 1, 1)"
        )
        await old.conn.execute("INSERT INTO events(ts, kind, payload) VALUES (1, 'save_created', '{}')")
        await old.conn.execute("COMMIT")
        with pytest.raises(sqlite3.OperationalError):
            await old.fetchall("SELECT * FROM heartbeat")
    async with await Store.open(db) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        quest = await store.quests.get(1)
        assert quest.name == "q.jsonl" and quest.validation_level is None
        assert await store.heartbeat.read() is None
        assert await store.events.last_id() == 1


async def test_scores_of_older_evaluations_are_filled_in_from_their_samples(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with await Store.open(db, create=True, target_version=3) as old:
        await old.conn.execute("BEGIN IMMEDIATE")
        await old.conn.execute("INSERT INTO checkpoints(step, name, path, created_at) VALUES (50, 'checkpoint-50', 'checkpoints/c', 1)")
        await old.conn.execute(
            "INSERT INTO evaluations(checkpoint_step, skill, level, correct, total, accuracy, samples, created_at) "
            "VALUES (50, 'sy', 1, 0, 2, 0.0, '[{\"score\": 0.25}, {\"score\": 0.75}]', 1)")
        await old.conn.execute("COMMIT")
    async with await Store.open(db) as store:
        (ev,) = await store.evaluations.for_checkpoint(50)
        assert ev.score == pytest.approx(0.5) and ev.accuracy == 0.0
        assert await store.evaluations.record(50, "sy", 2, 1, 2, [{"score": 1.0}, {"score": 0.5}])
        assert [e.score for e in await store.evaluations.for_checkpoint(50)] == [pytest.approx(0.5), 0.75]


async def test_migration_is_idempotent_and_ordered(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        assert await migrate(store.conn) == []
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_event_log_is_append_only(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        first = await store.events.append("quest_completed", {"quest_id": 1}, dedupe_key="quest_completed:1")
        again = await store.events.append("quest_completed", {"quest_id": 1}, dedupe_key="quest_completed:1")
        assert first == 1 and again is None
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction() as conn:
                await conn.execute("DELETE FROM events")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.transaction() as conn:
                await conn.execute("UPDATE events SET kind = 'x'")
        assert len(await store.events.since(0)) == 1


async def test_queue_order_priority_then_fifo(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        for name, prio, t in [("a", "low", 1), ("b", "normal", 2), ("c", "high", 3), ("d", "normal", 1.5), ("e", "high", 4)]:
            await store.quests.create(name, f"quests/queued/{name}", state="queued", priority=prio, queued_at=t)
        order = []
        while (q := await store.quests.next_queued()) is not None:
            order.append(q.name)
            await store.quests.update(q.id, state="completed")
        assert order == ["c", "e", "d", "b", "a"]


async def test_data_version_changes_on_other_connections_commit(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with await Store.open(db, create=True) as writer, await Store.open(db) as reader:
        v0 = await reader.data_version()
        assert await reader.data_version() == v0
        await writer.events.append("warning", {"message": "hello"})
        assert await reader.data_version() != v0


async def test_commands_round_trip(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        cid = await store.commands.submit("pause", {}, source="tui")
        pending = await store.commands.pending()
        assert [c.id for c in pending] == [cid]
        assert await store.commands.claim(cid) and not await store.commands.claim(cid)
        await store.commands.finish(cid, True, {"ok": 1})
        done = await store.commands.get(cid)
        assert done.status == "done" and done.result == {"ok": 1}


async def test_on_node_follows_what_the_node_has_loaded(tmp_path: Path) -> None:
    """The node's pool evicts checkpoints by itself: on_node is set from what it reports, so the
    Vault's `node` and retention's protection of loaded checkpoints never go stale."""
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        for step in (1, 2, 3):
            await store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
        await store.checkpoints.update(1, on_node=1)
        await store.checkpoints.update(2, on_node=1)
        await store.checkpoints.mark_on_node({2, 3})
        assert {r.step: r.on_node for r in await store.checkpoints.live()} == {1: False, 2: True, 3: True}
        await store.checkpoints.mark_on_node(set())
        assert not any(r.on_node for r in await store.checkpoints.live())


async def test_steps_trained_counts_a_skill_levels_own_battles_not_riders(tmp_path: Path) -> None:
    """What makes a skill 'stalled' counts the steps of its own quests at the level; a quest that rode
    along with a larger one (no steps_total of its own) trained inside another skill's battle."""
    async with await Store.open(tmp_path / "r.db", create=True) as store:
        rows = [("sy", 1, 226, 226), ("sy", 1, 197, None), ("sy", 1, 50, 50), ("sy", 2, 40, 40), ("bin", 1, 192, 192)]
        for i, (skill, level, done, total) in enumerate(rows):
            qid = await store.quests.create(f"q{i}", f"quests/done/q{i}", state="completed", skill=skill, level=level)
            await store.quests.update(qid, steps_done=done, steps_total=total)
        assert await store.quests.steps_trained("sy", 1) == 276
        assert await store.quests.steps_trained("sy", 2) == 40
        assert await store.quests.steps_trained("sy", 3) == 0
