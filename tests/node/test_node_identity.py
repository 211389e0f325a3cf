"""Strict identity: an unknown, missing, unloaded, incomplete, damaged, ambiguous or changed
checkpoint is a 404 (409 when ambiguous) about `model`, never another model's answer; a chat
request never loads anything; changed files are a new identity and nothing cached is reused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx

from node_helpers import NodeWorld
from contracts.checkpoint import read_ledger
from contracts.node_api import HEADER_SHA256, HEADER_STEP
from node_helpers import make_checkpoint

ASK = [{"role": "user", "content": "①+①="}]


def chat_body(model: str | None, **extra) -> dict:
    body = {"messages": ASK, "max_tokens": 4, "temperature": 0, **extra}
    if model is not None:
        body["model"] = model
    return body


def assert_model_404(r: httpx.Response, code: str | None = None) -> dict:
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert err["param"] == "model" and err["type"] == "invalid_request_error" and err["message"]
    if code:
        assert err["code"] == code, err
    return err


async def loaded_ids(http: httpx.AsyncClient) -> list[str]:
    return [m["id"] for m in (await http.get("/models/info")).json()["models"]]


async def test_unknown_missing_and_empty_ids(http: httpx.AsyncClient) -> None:
    for model in ("checkpoint-999999", "gpt-4o", "checkpoint-", "checkpoint-01x", "../base", "", "checkpoint-06",
                  "Checkpoint-6", "base ", "checkpoint-6-20250101-0000"):
        assert_model_404(await http.post("/v1/chat/completions", json=chat_body(model)))
        assert_model_404(await http.post("/models/load", json={"model": model}))
    for stream in (False, True):
        assert_model_404(await http.post("/v1/chat/completions", json=chat_body(None, stream=stream)), "model_missing")


async def test_unloaded_id_is_404_and_never_auto_loaded(world: NodeWorld, http: httpx.AsyncClient) -> None:
    await http.post("/models/unload", json={"model": "checkpoint-102"})
    assert "checkpoint-102" in (await http.get("/models/info")).json()["available"]
    for stream in (False, True):
        err = assert_model_404(await http.post("/v1/chat/completions", json=chat_body("checkpoint-102", stream=stream)),
                               "model_not_loaded")
        assert "/models/load" in err["message"]
    assert "checkpoint-102" not in await loaded_ids(http)
    assert "checkpoint-102" not in [m["id"] for m in (await http.get("/v1/models")).json()["data"]]
    assert_model_404(await http.post("/models/unload", json={"model": "checkpoint-102"}))


async def test_empty_and_incomplete_checkpoint_folders(world: NodeWorld, http: httpx.AsyncClient) -> None:
    (world.models / "checkpoint-500-20250101-0000").mkdir()
    err = assert_model_404(await http.post("/models/load", json={"model": "checkpoint-500"}), "model_incomplete")
    assert "checkpoint-500-20250101-0000" in err["message"]
    src = make_checkpoint(world.base, world.outside, 501)
    half = world.models / src.name
    shutil.copytree(src, half)
    (half / "model.safetensors").unlink()
    assert_model_404(await http.post("/models/load", json={"model": "checkpoint-501"}), "model_incomplete")
    tmp = world.models / f".tmp-{src.name}-123"
    shutil.copytree(src, tmp)  # an engine save in progress has no canonical name: invisible
    assert_model_404(await http.post("/models/load", json={"model": "checkpoint-501"}), "model_incomplete")
    assert "checkpoint-500" not in (await http.get("/models/info")).json()["available"]


async def test_damaged_weights_are_refused(world: NodeWorld, http: httpx.AsyncClient) -> None:
    folder = make_checkpoint(world.base, world.models, 510, noise_seed=5)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size: only the hash can tell
    weights.write_bytes(bytes(data))
    err = assert_model_404(await http.post("/models/load", json={"model": "checkpoint-510"}), "model_damaged")
    assert "sha256" in err["message"]
    assert "checkpoint-510" not in await loaded_ids(http)


async def test_ambiguous_step_is_refused(world: NodeWorld, http: httpx.AsyncClient) -> None:
    from datetime import datetime, timezone

    make_checkpoint(world.base, world.models, 520, noise_seed=6, when=datetime(2025, 1, 1, tzinfo=timezone.utc))
    make_checkpoint(world.base, world.models, 520, noise_seed=7, when=datetime(2025, 1, 2, tzinfo=timezone.utc))
    r = await http.post("/models/load", json={"model": "checkpoint-520"})
    assert r.status_code == 409 and r.json()["error"]["param"] == "model"
    assert "ambiguous" in r.json()["error"]["message"]


async def test_changed_files_make_a_new_identity(world: NodeWorld, http: httpx.AsyncClient) -> None:
    from datetime import datetime, timezone

    when = datetime(2025, 2, 1, tzinfo=timezone.utc)
    first = make_checkpoint(world.base, world.models, 530, noise_seed=8, when=when)
    sha_a = read_ledger(first).weights_sha256
    loaded = (await http.post("/models/load", json={"model": "checkpoint-530"})).json()
    assert loaded["weights_sha256"] == sha_a
    r = await http.post("/v1/chat/completions", json=chat_body("checkpoint-530"))
    assert r.status_code == 200 and r.headers[HEADER_SHA256] == sha_a and r.headers[HEADER_STEP] == "530"
    answer_a = r.json()["choices"][0]["message"]["content"]

    # the same name, step and ledger layout with other weights (what a botched re-save would leave)
    shutil.rmtree(first)
    second = make_checkpoint(world.base, world.models, 530, noise_seed=9, when=when)
    assert second.name == first.name
    sha_b = read_ledger(second).weights_sha256
    assert sha_b != sha_a
    for stream in (False, True):
        err = assert_model_404(await http.post("/v1/chat/completions", json=chat_body("checkpoint-530", stream=stream)))
        assert err["code"] in ("model_changed", "model_not_loaded")
    assert "checkpoint-530" not in await loaded_ids(http)  # the stale copy was dropped, not reused
    reloaded = (await http.post("/models/load", json={"model": "checkpoint-530"})).json()
    assert reloaded["weights_sha256"] == sha_b and reloaded["loaded_at"] > loaded["loaded_at"]
    r = await http.post("/v1/chat/completions", json=chat_body("checkpoint-530"))
    assert r.status_code == 200 and r.headers[HEADER_SHA256] == sha_b
    assert isinstance(answer_a, str)

    # touching a file (same bytes, new mtime) is also a new identity: reload, never reuse
    os.utime(second / "config.json", ns=(1, 1))
    assert_model_404(await http.post("/v1/chat/completions", json=chat_body("checkpoint-530")), "model_changed")
    again = (await http.post("/models/load", json={"model": "checkpoint-530"})).json()
    assert again["weights_sha256"] == sha_b and again["loaded_at"] > reloaded["loaded_at"]

    # files that vanish under a loaded checkpoint
    shutil.rmtree(second)
    assert_model_404(await http.post("/v1/chat/completions", json=chat_body("checkpoint-530")))
    assert "checkpoint-530" not in await loaded_ids(http)


async def test_loads_come_only_from_the_models_folder(world: NodeWorld, http: httpx.AsyncClient) -> None:
    outside = make_checkpoint(world.base, world.outside, 540, noise_seed=10)
    link = world.models / outside.name
    link.symlink_to(outside, target_is_directory=True)
    try:
        assert_model_404(await http.post("/models/load", json={"model": "checkpoint-540"}))
    finally:
        link.unlink()
    inner = make_checkpoint(world.base, world.models, 541, noise_seed=11)
    (inner / "extra.txt").symlink_to(Path("/etc/hostname"))
    assert_model_404(await http.post("/models/load", json={"model": "checkpoint-541"}), "model_refused")


async def test_base_is_served_from_base_dir(world: NodeWorld, http: httpx.AsyncClient) -> None:
    r = await http.post("/models/load", json={"model": "base"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "base" and body["step"] is None and body["path"] == str(world.base.resolve())
    chat = await http.post("/v1/chat/completions", json=chat_body("base"))
    assert chat.json()["model"] == "base" and chat.headers[HEADER_SHA256] == body["weights_sha256"]
    assert chat.headers[HEADER_STEP] == "none"
    await http.post("/models/unload", json={"model": "base"})


async def test_errors_never_show_the_servers_paths(world: NodeWorld, http: httpx.AsyncClient) -> None:
    (world.models / "checkpoint-9520-20250101-0000").mkdir()
    answers = [await http.post("/models/load", json={"model": m}) for m in ("checkpoint-777777", "checkpoint-9520")]
    answers.append(await http.post("/v1/chat/completions", json=chat_body("checkpoint-777777", stream=True)))
    for r in answers:
        assert str(world.root) not in r.text and str(world.models.resolve()) not in r.text, r.text
    assert "<models-dir>" in answers[0].json()["error"]["message"]
