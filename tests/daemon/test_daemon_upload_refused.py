"""A remote node that refuses a checkpoint as too large (413) is reported to the player once,
with the fix, instead of only in the log at every retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.event_kinds import EventKind
from daemon.harness import DaemonProcess, RemoteNode, chat_lines, drop_in_inbox, make_save, store_of, wait_until

pytestmark = pytest.mark.slow
KEY_ENV = "REALM_TEST_SMALL_NODE_KEY"


async def test_a_413_upload_becomes_one_warning_with_the_fix(tmp_path: Path, nano_base: Path, monkeypatch) -> None:
    node = await RemoteNode(tmp_path, KEY_ENV, "--max-upload-mb", "1").wait_up()
    monkeypatch.setenv(KEY_ENV, node.key)
    url = node.url
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
        node.stop()
