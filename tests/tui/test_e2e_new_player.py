"""End to end, as a new player: a fresh save, `realm-tui` opens the Tavern and starts
the real daemon, which creates nano DIO, generates a quest, trains it with the real
engine, evaluates a checkpoint on the real inference node and deploys a champion;
XP and gold rise on screen and the Oracle answers from a named checkpoint.
(About 1-3 minutes on the 2-core machine. The waits below are fail-safes against a hang, not
a time budget: how fast it plays is measured in benchmarks/, never asserted here.)"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config.edit import set_value
from backend.daemon import control
from backend.slot import SaveSlot
from tui_helpers import press, screen_text, settle, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
HANG_S = 900.0  # fail-safe: a step that takes this long is stuck


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gold_and_xp(text: str) -> tuple[int, int]:
    gold = re.search(r"Gold\s+([\d,]+)", text)
    xp = re.search(r"XP\s+\S*\s*([\d,]+)/", text)
    return (int(gold.group(1).replace(",", "")) if gold else 0, int(xp.group(1).replace(",", "")) if xp else 0)


async def test_new_player_sees_dio_train_and_answer(tmp_path: Path) -> None:
    from game.realm_app import RealmApp
    from backend.store import Store

    slot = SaveSlot(tmp_path / "save")
    subprocess.run([sys.executable, "-m", "backend.cli", "init", "--save", str(slot.root)], check=True, timeout=60)
    set_value(slot.config_path, "hosts.inference.port", str(free_port()))  # beside other tests' nodes
    # quests of a quarter of the usual size: the whole flow, in less of CI's time (pacing is benchmarks/')
    set_value(slot.config_path, "curriculum.auto_generate.tokens", "50000")
    app = RealmApp(save=slot.root, start_daemon=True, poll_s=0.5)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert "Tavern" in screen_text(app)
            await wait_until(pilot, lambda: control.running_pid(slot) is not None, timeout=60)

            def rewarded() -> bool:
                gold, xp = gold_and_xp(screen_text(app))
                return gold >= 100 and xp > 0

            await wait_until(pilot, rewarded, timeout=HANG_S)
            async with await Store.open(slot.db_path) as store:
                async def deployed() -> bool:
                    return await store.meta.deployed_step() is not None

                for _second in range(int(HANG_S)):
                    if await deployed():
                        break
                    await pilot.pause(1.0)
                assert await deployed(), "no checkpoint was evaluated and deployed"
                step = await store.meta.deployed_step()
                assert await store.evaluations.for_checkpoint(step)

            await press(app, pilot, "o")
            await settle(app, pilot)
            screen = app.screen
            await wait_until(pilot, lambda: screen.selected_model() is not None, timeout=60)
            screen.query_one("#prompt").value = "①⓪ + ① ="
            for _attempt in range(3):  # a new champion deployed meanwhile unloads the old one: ask again, as a player would
                await wait_until(pilot, lambda: screen.selected_model() is not None, timeout=60)
                await press(app, pilot, "enter")
                await wait_until(pilot, lambda: not screen.streaming and (
                    screen.last_identity is not None or screen.query_one("#prompt").value), timeout=120)
                if screen.last_identity is not None:
                    break
                assert screen.query_one("#prompt").value == "①⓪ + ① =", f"the question was lost: {screen.notes()}"
                assert any("is not loaded on the node" in n for n in screen.notes()), screen.notes()
            identity = screen.last_identity
            assert identity is not None, screen.notes()
            assert identity.model.startswith("checkpoint-") and identity.step is not None and identity.sha256
            assert f"checkpoint-{identity.step}" in screen_text(app)
    finally:
        control.stop(slot, timeout_s=120)
