"""The real daemon and engine subprocesses on nano DIO."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backend.config.edit import set_value
from backend.command_kinds import CommandKind
from backend.commands_client import submit, wait_for
from backend.daemon.battle_sink import FLUSH_S
from backend.event_kinds import EventKind
from backend.progression import replay
from daemon.harness import chat_lines, drop_in_inbox, store_of, wait_until

pytestmark = pytest.mark.slow


async def quest_state(store, quest_id: int = 1) -> str | None:
    quest = await store.quests.get(quest_id)
    return quest.state if quest else None


async def test_inbox_file_is_validated_queued_trained_and_rewarded(save, daemon) -> None:
    data = chat_lines(400)
    drop_in_inbox(save, "sums.jsonl", data)
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: quest_state(store), 30, "the quest to be taken in")
        await wait_until(lambda: _is(store, 1, "completed"), 240, "the quest to complete")
        quest = await store.quests.get(1)
        assert quest.examples == 400 and quest.validation["verdict"] == "pass"
        completed = save.root / quest.path
        assert completed.parent.name == "completed" and completed.read_bytes() == data
        assert not any(save.inbox_dir.iterdir())
        stats = replay(await store.events.since(0))
        assert stats.gold == 100 and stats.quests_completed == 1
        assert stats.xp == quest.steps_total > 0
        kinds = [e.kind for e in await store.events.since(0)]
        for kind in (EventKind.QUEST_ADDED, EventKind.QUEST_QUEUED, EventKind.QUEST_STARTED,
                     EventKind.CHECKPOINT_SAVED, EventKind.QUEST_COMPLETED):
            assert kind in kinds
        assert await store.metrics.latest() is not None
        assert (await store.checkpoints.newest()).step == stats.xp
        lineage = {(r.kind, r.name) for r in await store.lineage.all()}
        assert ("generator", "manual") in lineage
    finally:
        await store.close()
        assert daemon.stop() == 0, daemon.tail()


async def _is(store, quest_id: int, state: str) -> bool:
    return await quest_state(store, quest_id) == state


async def test_second_daemon_on_same_slot_refuses(save, daemon) -> None:
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _alive(store), 30, "the daemon's heartbeat")
        second = subprocess.run([sys.executable, "-m", "backend.cli", "daemon", "run", "--save", str(save.root)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"already running for this save (pid {daemon.pid})" in second.stderr
        assert daemon.alive()
    finally:
        await store.close()
        daemon.stop()


async def _alive(store) -> bool:
    beat = await store.heartbeat.read()
    return bool(beat and beat.alive())


async def test_pause_resume_stop(save, daemon) -> None:
    set_value(save.config_path, "daemon.engine_standby", "true")  # a stop must leave no spare engine either
    drop_in_inbox(save, "long.jsonl", chat_lines(4000))
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _stepping(store), 120, "training steps")
        await _command(store, CommandKind.PAUSE)
        await wait_until(lambda: _has_event(store, EventKind.BATTLE_PAUSED), 30, "the battle to pause")
        held = (await store.metrics.latest()).step
        await wait_until(lambda: _beat_state(store, "paused"), 10, "the heartbeat to say paused", 0.1)
        await _sleep(2.0)
        assert (await store.metrics.latest()).step == held, "steps went on while paused"
        await _command(store, CommandKind.RESUME)
        await wait_until(lambda: _step_beyond(store, held), 60, "steps after resume")
        await _command(store, CommandKind.STOP_BATTLE)
        await wait_until(lambda: _has_event(store, EventKind.BATTLE_STOPPED), 60, "the battle to stop")
        stopped = (await store.events.since(0, kinds=(EventKind.BATTLE_STOPPED,)))[-1]
        newest = await store.checkpoints.newest()
        # the stop saves (or, at a step just saved periodically, reuses) the checkpoint of its step
        assert newest.step == stopped.payload["step"] and newest.ledger["reason"] in ("stop", "periodic")
        assert (await store.quests.get(1)).state == "processing"
        assert daemon.engine_pids() == []  # neither the battle's engine nor a spare one for the next battle
        # stop = checkpoint and rest, as the TUI's dialog says: nothing trains until resume
        await wait_until(lambda: _beat_state(store, "paused"), 10, "the heartbeat to say paused", 0.1)
        await _command(store, CommandKind.RESUME)
        await wait_until(lambda: _stepping_beyond(store, newest.step), 60, "the quest to resume from its checkpoint")
        started = [e for e in await store.events.since(0) if e.kind == EventKind.QUEST_STARTED]
        assert "resuming from" in started[-1].payload["start"]
    finally:
        await store.close()
        daemon.stop()


async def _command(store, kind: str) -> None:
    command_id = await submit(store, kind, {}, source="test")
    done = await wait_for(store, command_id, 30)
    assert done is not None and done.status == "done", done


async def _stepping(store) -> bool:
    metric = await store.metrics.latest()
    return bool(metric and metric.job_step and metric.job_step >= 2)


async def _step_beyond(store, step: int) -> bool:
    metric = await store.metrics.latest()
    return bool(metric and metric.step > step)


async def _stepping_beyond(store, step: int) -> bool:
    metric = await store.metrics.latest()
    return bool(metric and metric.step > step)


async def _has_event(store, kind: str) -> bool:
    return any(e.kind == kind for e in await store.events.since(0, kinds=(kind,)))


async def _beat_state(store, state: str) -> bool:
    beat = await store.heartbeat.read()
    return bool(beat and beat.state == state)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_low_disk_pauses_the_battle_with_an_event(tmp_path, nano_base) -> None:
    from daemon.harness import DaemonProcess, make_save

    save = await make_save(tmp_path / "save", nano_base, {"retention.min_free_disk_gb": 1_000_000})
    drop_in_inbox(save, "sums.jsonl", chat_lines(2000))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _has_event(store, EventKind.DISK_LOW), 120, "the disk-low event")
        event = (await store.events.since(0, kinds=(EventKind.DISK_LOW,)))[-1]
        assert event.payload["needed_gb"] >= 1_000_000
        await wait_until(lambda: _beat_state(store, "paused"), 20, "the battle to hold")
        await wait_until(lambda: _has_event(store, EventKind.BATTLE_PAUSED), 60, "the engine to confirm the pause")
        await _sleep(FLUSH_S + 0.5)  # step reports made before the pause are written in batches
        held = (await store.metrics.latest()).step
        await _sleep(3.0)
        assert (await store.metrics.latest()).step == held
        assert (await store.quests.get(1)).state == "processing"
    finally:
        await store.close()
        daemon.stop()


async def test_a_checkpoint_that_cannot_resume_exactly_restarts_the_quest_from_its_weights(tmp_path, nano_base) -> None:
    """After the data or batching settings change (say, an upgrade), the engine refuses an
    exact resume; the daemon says so and trains the quest again from the checkpoint's weights."""
    from backend.config.edit import set_value
    from daemon.harness import DaemonProcess, make_save

    save = await make_save(tmp_path / "save", nano_base, {"training.save_every": 5, "training.tokens_per_micro_batch": 256})
    drop_in_inbox(save, "sums.jsonl", chat_lines(900))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def trained_a_while() -> bool:
            latest = await store.metrics.latest()
            return latest is not None and latest.step >= 15
        await wait_until(trained_a_while, 180, "some training steps")
        assert daemon.stop() == 0
        assert (await store.quests.get(1)).state == "processing"
        set_value(save.config_path, "training.length_grouping", "0")
        daemon = DaemonProcess(save).start()

        async def completed() -> bool:
            return await quest_state(store) in ("completed", "failed")
        await wait_until(completed, 300, "the quest to end")
        assert await quest_state(store) == "completed", daemon.tail()
        warnings = [e.payload["message"] for e in await store.events.since(0, kinds=(EventKind.WARNING,))]
        assert any("cannot continue exactly" in w for w in warnings), warnings
    finally:
        await store.close()
        daemon.stop()


async def test_the_next_battle_gets_a_warm_engine_and_none_is_left_waiting_when_the_queue_is_empty(save, daemon) -> None:
    set_value(save.config_path, "daemon.engine_standby", "true")  # the default; the harness turns it off
    set_value(save.config_path, "daemon.engine_standby_idle_s", "2")
    drop_in_inbox(save, "first.jsonl", chat_lines(400))
    drop_in_inbox(save, "second.jsonl", chat_lines(400, start=400))
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _is(store, 2, "completed"), 300, "both quests to complete")
        assert (await store.quests.get(1)).state == "completed"
        first = (save.logs_dir / "engine-quest-1.log").read_text(encoding="utf-8")
        second = (save.logs_dir / "engine-quest-2.log").read_text(encoding="utf-8")
        assert "warm engine: imports took" in first and "quest-1-" in first  # spawned when the daemon started
        assert "warm engine: imports took" in second and "quest-2-" in second
        stats = replay(await store.events.since(0))
        assert stats.quests_completed == 2 and stats.xp == (await store.checkpoints.newest()).step
        # the queue stays empty past daemon.engine_standby_idle_s: the battle loop lets the spare engine go
        await wait_until(lambda: _no_engine(daemon), 30, "the spare engine to exit")
    finally:
        await store.close()
        assert daemon.stop() == 0, daemon.tail()


async def _no_engine(daemon) -> bool:
    return not daemon.engine_pids()
