"""hosts.trainer.devices: 2 runs the battle under torchrun (two gloo ranks on the CPU here): the
quest completes with XP for every optimizer step once, and one set of checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.daemon.engine_proc import engine_command
from backend.progression import replay
from daemon.harness import DaemonProcess, chat_lines, drop_in_inbox, make_save, store_of, wait_until

pytestmark = pytest.mark.slow


def test_the_engine_command_uses_torchrun_only_for_several_devices(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    assert engine_command(job)[1:] == ["-m", "engine", "run", str(job)]
    assert engine_command(job, 4)[1:] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4",
                                          "--log-dir", str(tmp_path / "job.torchrun"), "-m", "engine", "run", str(job)]


async def test_a_quest_trains_on_two_ranks_through_the_daemon(tmp_path: Path, nano_base: Path) -> None:
    save = await make_save(tmp_path / "save", nano_base, {"hosts.trainer.devices": 2, "hosts.trainer.threads": 1})
    drop_in_inbox(save, "sums.jsonl", chat_lines(300))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def completed():
            quest = await store.quests.get(1)
            return quest if quest and quest.state == "completed" else None

        quest = await wait_until(completed, 300, "the quest to complete on two ranks")
        stats = replay(await store.events.since(0))
        assert stats.xp == quest.steps_total > 0 and stats.quests_completed == 1
        checkpoints = [p.name for p in save.checkpoints_dir.iterdir() if p.name.startswith("checkpoint-")]
        steps = sorted(int(name.split("-")[1]) for name in checkpoints)
        assert steps and steps[-1] == quest.steps_total and len(steps) == len(set(steps))
        log = next(save.logs_dir.glob("engine-quest-1.log")).read_text(errors="replace")
        assert "engine rank 0 of 2" in log and "engine rank 1 of 2: events and checkpoints come from rank 0" in log
    finally:
        await store.close()
        daemon.stop()
