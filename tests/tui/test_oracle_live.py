"""The Oracle against a real inference node on loopback serving nano DIO's base
model (no fake server). Skipped while inference_node/ has no entry point; the node
is started with the flags the daemon uses (backend/daemon/node_manager.py)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.config.edit import set_value
from game.screens.oracle import OracleScreen
from tui_helpers import Posted, make_app, press, screen_text, settle, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def running_node(tmp_path_factory):
    """A real node serving nano DIO's base model (one per module: creating nano and
    starting the node take most of these tests' time). Yields (port, key)."""
    home = tmp_path_factory.mktemp("node")
    base, models = home / "base", home / "checkpoints"
    models.mkdir()
    subprocess.run([sys.executable, "-m", "engine", "nano", str(base)], check=True, cwd=ROOT,
                   capture_output=True, timeout=300)
    port = free_port()
    key = secrets.token_urlsafe(16)
    log = open(home / "node.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference_node", "--models-dir", str(models), "--base-dir", str(base),
         "--host", "127.0.0.1", "--port", str(port), "--api-key-env", "REALM_NODE_KEY", "--pool", "2"],
        cwd=ROOT, env={**os.environ, "REALM_NODE_KEY": key}, stdout=log, stderr=log)
    from backend.oracle import OracleClient

    async def ready() -> None:
        client = OracleClient(f"http://127.0.0.1:{port}", key, retries=0)
        try:
            end = time.monotonic() + 120
            while True:
                try:
                    await client.health()
                    break
                except Exception:
                    if time.monotonic() > end or proc.poll() is not None:
                        raise
                    await asyncio.sleep(0.5)
            if "base" not in [m.id for m in await client.models()]:
                await client.load("base")
        finally:
            await client.aclose()

    try:
        asyncio.run(ready())
        yield port, key
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def node(seeded, running_node):
    """The seeded save, its realm.yaml and run/node.key pointing at the running node."""
    port, key = running_node
    (seeded.run_dir / "node.key").write_text(key)
    set_value(seeded.config_path, "hosts.inference.port", str(port))
    return seeded


async def open_oracle(app, pilot) -> OracleScreen:
    await settle(app, pilot)
    await press(app, pilot, "o")
    await settle(app, pilot)
    return app.screen


async def test_answer_streams_and_names_the_checkpoint(node) -> None:
    app = make_app(node)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        assert screen.selected_model() == "base"
        screen.query_one("#prompt").value = "①⓪ + ① ="
        await press(app, pilot, "enter")
        await wait_until(pilot, lambda: not screen.streaming and screen.last_identity is not None, timeout=120)
        assert screen.last_identity.model == "base" and screen.last_identity.sha256
        identity = screen.query_one("#oracle-identity").shown
        assert identity.startswith("Answered by base · base model · sha256 ") and "confirmed by the node" in identity
        # the transcript is painted after the stream ends: wait for the picture, not only the state
        await wait_until(pilot, lambda: "DIO · base · base model · sha256 " in screen_text(app), timeout=30)
        assert "①⓪ + ① =" in screen_text(app)
        await press(app, pilot, "ctrl+y")
        assert app.clipboard == screen.last_answer


async def test_unloaded_checkpoint_is_said_plainly(node) -> None:
    app = make_app(node)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        screen.ask("checkpoint-1200", "hello")  # in the vault, not on the node
        await wait_until(pilot, lambda: not screen.streaming, timeout=60)
        assert "checkpoint-1200 is not loaded on the node" in screen.notes()[-1]
        assert screen.query_one("#prompt").value == "hello"  # not lost: enter asks again
        assert screen.messages == [] and screen.last_identity is None
        await wait_until(pilot, lambda: screen.selected_model() == "base", timeout=30)  # what the node serves now


async def test_escape_cancels_the_answer(node, monkeypatch) -> None:
    # a long answer, so Escape lands while it streams however fast the machine is
    monkeypatch.setattr("game.screens.oracle.MAX_TOKENS", 4096)
    app = make_app(node)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        screen = await open_oracle(app, pilot)
        for _ in range(5):  # nano DIO can answer fast: cancel as soon as the request is under way
            screen.query_one("#prompt").value = "Tell me a long story."
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.streaming or screen.query(".turn-dio"), timeout=60)
            if screen.streaming:
                await pilot.press("escape")
                await wait_until(pilot, lambda: not screen.streaming, timeout=30)
            if "Answer cancelled." in [t.text for t in posted.toasts()]:
                break
        assert "Answer cancelled." in [t.text for t in posted.toasts()]


async def test_quiz_asks_a_fresh_problem_and_grades_it_with_the_skill(node) -> None:
    """ctrl+t: a skill, a level, a fresh problem as the skill writes it; the skill's grader reads the
    answer (BIN in decimal) and the quiz stays out of the conversation's history."""
    app = make_app(node)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        await wait_until(pilot, lambda: screen.selected_model() == "base", timeout=60)
        await press(app, pilot, "ctrl+t")
        await settle(app, pilot)
        assert "Quiz DIO on which skill?" in screen_text(app)
        await press(app, pilot, "enter")  # the first skill: BIN
        await settle(app, pilot)
        assert "Which level (its training level now):" in screen_text(app)
        await press(app, pilot, "enter")  # its training level
        await wait_until(pilot, lambda: screen.last_grade is not None, timeout=120)
        grade = screen.last_grade
        text = screen_text(app)
        assert "Quiz · BIN L2" in text  # the seeded save trains BIN level 2
        assert ("right · = " in text and " ✓" in text) if grade.correct else (" ✗, expected " in text)
        assert " = " in text.split("Quiz · BIN L2")[1]  # the decimal gloss of the problem ("3 + 4 = 7")
        assert screen.messages == []  # a quiz is not part of the chat
        assert screen.query_one("#prompt").has_focus  # back to typing


async def test_the_conversation_comes_back_after_a_restart(node) -> None:
    app = make_app(node)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        await wait_until(pilot, lambda: screen.selected_model() == "base", timeout=60)
        screen.query_one("#prompt").value = "Greet Elzuel."
        await press(app, pilot, "enter")
        await wait_until(pilot, lambda: not screen.streaming and screen.last_identity is not None, timeout=120)
        answer = screen.last_answer
    again = make_app(node)  # the TUI closed and opened again
    async with again.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(again, pilot)
        text = screen_text(again)
        assert "the conversation so far, kept with this save" in text and "Greet Elzuel." in text
        assert "DIO · base · base model · sha256 " in text
        assert screen.messages == [{"role": "user", "content": "Greet Elzuel."}, {"role": "assistant", "content": answer}]
        await press(again, pilot, "ctrl+n")
        await settle(again, pilot)
        assert screen.messages == [] and "Greet Elzuel." not in screen_text(again)
    third = make_app(node)
    async with third.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(third, pilot)
        assert screen.messages == [] and "Greet Elzuel." not in screen_text(third)
