"""The daemon's half of the warm engine (backend/daemon/engine_standby.py): a spare that died
before its job is never handed one; the battle then spawns a fresh engine."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from backend.daemon.engine_proc import STDOUT_LIMIT
from backend.daemon.engine_standby import EngineStandby


async def test_a_spare_engine_that_died_is_not_handed_the_job(tmp_path: Path) -> None:
    for reaped in (True, False):  # its exit seen by asyncio, or not yet (the send then fails)
        standby = EngineStandby(tmp_path / "logs" / "engine-standby.log")
        await standby.spawn(STDOUT_LIMIT)
        assert standby.alive
        os.kill(standby.proc.pid, signal.SIGKILL)
        if reaped:
            await standby.proc.wait()
        else:
            await asyncio.sleep(0.5)
        assert standby.hand_over(tmp_path / "job.json", tmp_path / "logs" / "engine-quest-1.log", None) is None
        assert not standby.alive
        await standby.discard()  # safe after a failed hand-over


async def test_discarding_a_spare_mid_import_ends_it(tmp_path: Path) -> None:
    standby = EngineStandby(tmp_path / "engine-standby.log")
    await standby.spawn(STDOUT_LIMIT)
    proc = standby.proc
    await standby.discard()
    assert proc.returncode is not None and not standby.alive
