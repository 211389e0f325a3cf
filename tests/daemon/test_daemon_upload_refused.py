"""A remote node that refuses a checkpoint as too large (413) is reported to the player once,
with the fix, instead of only in the log at every retry."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from backend.event_kinds import EventKind
from backend.oracle import OracleClient
from daemon.harness import DaemonProcess, chat_lines, drop_in_inbox, free_port, make_save, store_of, wait_until

pytestmark = pytest.mark.slow
KEY_ENV = "REALM_TEST_SMALL_NODE_KEY"


async def test_a_413_upload_becomes_one_warning_with_the_fix(tmp_path: Path, nano_base: Path, monkeypatch) -> None:
    port, key = free_port(), secrets.token_urlsafe(16)
    (tmp_path / "remote").mkdir()
    log = open(tmp_path / "remote.log", "ab")  # noqa: SIM115
    node = subprocess.Popen([sys.executable, "-m", "inference_node", "--models-dir", str(tmp_path / "remote"),
                             "--host", "127.0.0.1", "--port", str(port), "--api-key-env", KEY_ENV,
                             "--max-upload-mb", "1"], env={**os.environ, KEY_ENV: key}, stdout=log, stderr=log)
    monkeypatch.setenv(KEY_ENV, key)
    url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        client = OracleClient(url, key, retries=0)
        try:
            await client.health()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False
        finally:
            await client.aclose()

    await wait_until(up, 120, "the small remote node")
    save = await make_save(tmp_path / "save", nano_base, {"hosts.inference.url": url, "hosts.inference.api_key_env":
                                                          KEY_ENV, "evaluation.enabled": True})
    drop_in_inbox(save, "sums.jsonl", chat_lines(200))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def refused():
            return [e for e in await store.events.since(0, kinds=(EventKind.WARNING,))
                    if e.payload.get("code") == "upload_too_large"]

        warnings = await wait_until(refused, 240, "the upload_too_large warning")
        assert "--max-upload-mb" in warnings[0].payload["fix"] and "refused checkpoint-" in warnings[0].payload["message"]
        await asyncio.sleep(3)  # the evaluator retries; the warning is not repeated for the same checkpoint
        again = await refused()
        assert len({e.payload["model"] for e in again}) == len(again)
    finally:
        await store.close()
        daemon.stop()
        node.terminate()
        node.wait(20)
        log.close()
