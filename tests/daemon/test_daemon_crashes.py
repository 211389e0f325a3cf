"""Crashes: the engine or the daemon killed with SIGKILL mid-battle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from backend.event_kinds import EventKind
from backend.progression import replay
from daemon.harness import chat_lines, drop_in_inbox, store_of, wait_until

pytestmark = pytest.mark.slow


async def _checkpoint_at_least(store, step: int):
    newest = await store.checkpoints.newest()
    return newest if newest and newest.step >= step else None


async def _completed(store):
    quest = await store.quests.get(1)
    return quest if quest and quest.state == "completed" else None


async def test_engine_sigkill_resumes_without_double_xp(save, daemon) -> None:
    drop_in_inbox(save, "long.jsonl", chat_lines(1200))
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _checkpoint_at_least(store, 5), 180, "a checkpoint at step 5")
        pids = daemon.engine_pids()
        assert pids, daemon.tail()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        quest = await wait_until(lambda: _completed(store), 300, "the quest to complete after the crash")
        events = await store.events.since(0)
        crashes = [e for e in events if e.kind == EventKind.ENGINE_CRASHED]
        assert len(crashes) == 1 and "signal 9" in crashes[0].payload["error"]
        restarts = [e for e in events if e.kind == EventKind.QUEST_STARTED]
        assert "resuming from checkpoint-" in restarts[-1].payload["start"]
        completed = [e for e in events if e.kind == EventKind.QUEST_COMPLETED]
        assert len(completed) == 1
        stats = replay(events)
        assert stats.xp == quest.steps_total == completed[0].payload["final_step"]
        assert stats.gold == 100
    finally:
        await store.close()
        daemon.stop()


async def test_daemon_sigkill_then_start_picks_the_battle_up(save, daemon) -> None:
    drop_in_inbox(save, "long.jsonl", chat_lines(1200))
    daemon.start()
    store = await store_of(save)
    try:
        first = await wait_until(lambda: _checkpoint_at_least(store, 5), 180, "a checkpoint at step 5")
        orphans = daemon.engine_pids()
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.proc.wait(10)
        started = subprocess.run([sys.executable, "-m", "backend.cli", "daemon", "start", "--save", str(save.root)],
                                 capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        quest = await wait_until(lambda: _completed(store), 300, "the quest to complete under the new daemon")
        for pid in orphans:  # the old engine saved and exited (parent-death signal), no stray trainer
            assert not _running(pid)
        events = await store.events.since(0)
        restarts = [e for e in events if e.kind == EventKind.QUEST_STARTED]
        assert len(restarts) >= 2 and "resuming from" in restarts[-1].payload["start"]
        stats = replay(events)
        assert stats.xp == quest.steps_total and stats.gold == 100
        assert first.step < stats.xp
    finally:
        await store.close()
        subprocess.run([sys.executable, "-m", "backend.cli", "daemon", "stop", "--save", str(save.root)],
                       capture_output=True, timeout=180)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


async def test_a_hung_engine_is_killed_and_the_battle_goes_on(tmp_path, nano_base) -> None:
    """SIGSTOP freezes the engine mid-battle (a hang: no crash, no output). The watchdog kills it
    after daemon.engine_silence_s and the battle restarts from its newest checkpoint."""
    from daemon.harness import DaemonProcess, make_save

    save = await make_save(tmp_path / "save", nano_base, {"daemon.engine_silence_s": 6})
    drop_in_inbox(save, "long.jsonl", chat_lines(1200))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        await wait_until(lambda: _checkpoint_at_least(store, 5), 180, "a checkpoint at step 5")
        pids = daemon.engine_pids()
        assert pids, daemon.tail()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)

        async def crash_reported():
            return [e for e in await store.events.since(0, kinds=(EventKind.ENGINE_CRASHED,)) if "hung" in e.payload["error"]]

        crashed = await wait_until(crash_reported, 120, "the watchdog to report the hung engine")
        assert "said nothing for 6 s" in crashed[0].payload["error"]
        assert [p for p in pids if _running(p)] == []

        async def trains_again():  # a step of the restarted engine (the quest's completion after a
            latest = await store.metrics.latest()  # crash is test_engine_sigkill_resumes_without_double_xp's)
            return latest if latest is not None and latest.ts > crashed[0].ts else None

        await wait_until(trains_again, 300, "the battle to train again after the restart")
        restarts = await store.events.since(0, kinds=(EventKind.QUEST_STARTED,))
        assert len(restarts) == 2 and "resuming from checkpoint-" in restarts[-1].payload["start"], daemon.tail()
        assert daemon.alive(), daemon.tail()
    finally:
        await store.close()
        daemon.stop()
