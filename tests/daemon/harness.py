"""A real daemon on a real save with nano DIO, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from backend.config.edit import set_value
from backend.savegame import init_save
from backend.slot import SaveSlot
from backend.store import Store

FAST_SETTINGS: dict[str, Any] = {
    "curriculum.auto_generate.enabled": False,
    "training.save_every": 5,
    "training.log_every": 1,
    "training.tokens_per_micro_batch": 512,
    "training.warmup_steps": 2,
    "training.min_quest_steps": 5,  # the tests' quests are small: only a few-line file rides along
    "daemon.heartbeat_s": 0.5,
    "daemon.restart_backoff_s": 0.2,
    "evaluation.enabled": False,
    "sparring.enabled": False,
    # a spare engine importing beside every test battle costs the 2-core CI minutes; the warm
    # engine has its own tests (test_daemon_lifecycle, test_daemon_standby, tests/engine)
    "daemon.engine_standby": False,
    "hosts.trainer.threads": 1,
    # no local node: importing torch for a node that nothing asks costs every test a few CPU seconds
    # (a trainer-only box whose remote node is down). Tests of the node set hosts.inference.url.
    "hosts.inference.url": "http://127.0.0.1:9",
}


def create_nano(path: Path, seed: int = 1) -> Path:
    subprocess.run([sys.executable, "-m", "engine", "nano", str(path), "--seed", str(seed)], check=True,
                   capture_output=True, timeout=300)
    return path


async def make_save(root: Path, nano: Path | None, settings: dict[str, Any] | None = None) -> SaveSlot:
    """An initialised save with nano DIO copied in and the given realm.yaml settings."""
    slot = SaveSlot(root)
    await init_save(slot)
    if nano is not None:
        shutil.copytree(nano, slot.base_model_dir)
    for key, value in {**FAST_SETTINGS, **(settings or {})}.items():
        config, problems = set_value(slot.config_path, key, json.dumps(value))
        assert config is not None, problems
    return slot


async def wait_until(check: Callable[[], Awaitable[Any]], timeout_s: float, what: str, interval_s: float = 0.2) -> Any:
    end = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(interval_s)


class DaemonProcess:
    """`realm daemon run` as a real subprocess (its own session, like `start`)."""

    def __init__(self, slot: SaveSlot) -> None:
        self.slot = slot
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = slot.logs_dir / "test-daemon.log"

    def start(self) -> "DaemonProcess":
        self.slot.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "daemon", "run", "--save", str(self.slot.root)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def engine_pids(self) -> list[int]:
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        def is_engine(proc: psutil.Process) -> bool:
            try:
                args = proc.cmdline()
            except psutil.Error:
                return False
            return any(a == "-m" and b == "engine" for a, b in zip(args, args[1:]))  # not inference_node

        return [c.pid for c in children if is_engine(c)]

    def stop(self, timeout_s: float = 120.0) -> int | None:
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the daemon did not stop within {timeout_s}s; log:\n{self.tail()}") from None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self, lines: int = 40) -> str:
        """The end of the daemon's own log (logs/daemon.log) and of its raw output."""
        out = []
        for path in (self.slot.logs_dir / "daemon.log", self.log):
            if path.exists():
                out += [f"--- {path.name}", *path.read_text(errors="replace").splitlines()[-lines:]]
        return "\n".join(out)


async def store_of(slot: SaveSlot) -> Store:
    return await Store.open(slot.db_path)


def chat_lines(n: int, start: int = 0) -> bytes:
    """Small addition examples in the chat_sft_v1 schema (no two alike)."""
    lines = []
    for i in range(start, start + n):
        a, b = i % 97 + 1, i // 97 + 1
        lines.append(json.dumps({"messages": [{"role": "user", "content": f"{a} + {b} ="},
                                              {"role": "assistant", "content": str(a + b)}]}))
    return ("\n".join(lines) + "\n").encode()


def drop_in_inbox(slot: SaveSlot, name: str, data: bytes) -> Path:
    """Write beside the inbox, then rename in: an atomic drop."""
    staging = slot.root / "staging"
    staging.mkdir(exist_ok=True)
    tmp = staging / name
    tmp.write_bytes(data)
    dest = slot.inbox_dir / name
    os.replace(tmp, dest)
    return dest


def free_port() -> int:
    """A free loopback port for a node a test starts itself."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RemoteNode:
    """`python -m inference_node` on a free loopback port with its own models folder, standing in
    for the remote inference host (`extra`: more node arguments, e.g. --pool 1)."""

    def __init__(self, folder: Path, key_env: str, *extra: str) -> None:
        import secrets

        self.port, self.key, self.key_env = free_port(), secrets.token_urlsafe(16), key_env
        self.models = folder / "remote-models"
        self.models.mkdir(parents=True, exist_ok=True)
        self.log = open(folder / "remote-node.log", "ab")  # noqa: SIM115 - open as long as the node runs
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inference_node", "--models-dir", str(self.models), "--host", "127.0.0.1",
             "--port", str(self.port), "--api-key-env", key_env, *extra],
            env={**os.environ, key_env: self.key}, stdout=self.log, stderr=self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_up(self, timeout_s: float = 120.0) -> "RemoteNode":
        from backend.oracle import OracleClient

        async def up() -> bool:
            client = OracleClient(self.url, self.key, retries=0)
            try:
                await client.health()
                return True
            except Exception:  # noqa: BLE001 - not up yet
                return False
            finally:
                await client.aclose()

        await wait_until(up, timeout_s, "the remote node")
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


def write_checkpoints(folder: Path, base: Path, steps: tuple[int, ...], job_id: str = "quest-1") -> None:
    """Real checkpoints of `base`'s weights at `steps`, written by the engine's saver, each with a
    small resume state (as a campaign's are)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.checkpointing import save_checkpoint

    model, tokenizer = AutoModelForCausalLM.from_pretrained(str(base)), AutoTokenizer.from_pretrained(str(base))
    for step in steps:
        resume = {"init_step": 0, "job_step": step, "total_steps": 1000, "epoch": 0, "step_in_epoch": step,
                  "data_fingerprint": "f", "loss_ema": 0.5, "job_id": job_id}
        fields = {"job_step": step, "init_step": 0, "reason": "periodic", "job_id": job_id, "train_loss": 0.5,
                  "resume": resume}
        save_checkpoint(model, tokenizer, folder, step, fields, {"optimizer": {"m": torch.zeros(50_000)}})


async def record_checkpoints(store: Store, slot: SaveSlot) -> None:
    """The save's checkpoint folders into the vault, as the battle's sink records them."""
    from backend.daemon.jobs import ledger_facts
    from contracts.checkpoint import read_ledger

    for folder in sorted(slot.checkpoints_dir.iterdir()):
        facts = ledger_facts(read_ledger(folder))
        await store.checkpoints.record(facts["ledger"]["step"], folder.name, str(folder.relative_to(slot.root)), **facts)


def realm_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The `realm` command line in its own process, with extra environment variables (node keys)."""
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
