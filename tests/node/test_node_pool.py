"""The pool (capacity 2 on the test node): LRU eviction that skips checkpoints with requests in
flight, 503 when every slot is busy, merged concurrent loads, /health 503 while loading, and
concurrent streams on one model."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from node_helpers import NodeProcess

LONG = {"messages": [{"role": "user", "content": "①+①="}], "max_tokens": 1800, "temperature": 0.7, "seed": 3,
        "ignore_eos": True, "stream": True}


async def info(http: httpx.AsyncClient) -> dict:
    return (await http.get("/models/info")).json()


async def unload_all(http: httpx.AsyncClient) -> None:
    for m in (await info(http))["models"]:
        await http.post("/models/unload", json={"model": m["id"]})


async def wait_idle(http: httpx.AsyncClient, timeout: float = 10.0) -> dict:
    end = time.monotonic() + timeout
    while True:
        state = await info(http)
        if all(m["in_flight"] == 0 for m in state["models"]) or time.monotonic() > end:
            return state
        await asyncio.sleep(0.05)


class Streamer:
    """A long stream held open until `close`."""

    def __init__(self, node: NodeProcess, model: str) -> None:
        self.client = httpx.AsyncClient(base_url=node.url, headers=node.headers, timeout=60)
        self.model = model
        self.first = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        async with self.client.stream("POST", "/v1/chat/completions", json={**LONG, "model": self.model}) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    self.first.set()

    async def start(self) -> "Streamer":
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.first.wait(), 30)
        return self

    async def close(self) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self.client.aclose()


@pytest.mark.slow
async def test_lru_eviction_skips_busy_checkpoints(node: NodeProcess, http: httpx.AsyncClient) -> None:
    await unload_all(http)
    a, b, c = "checkpoint-100", "checkpoint-101", "checkpoint-102"
    assert (await http.post("/models/load", json={"model": a})).status_code == 200
    assert (await http.post("/models/load", json={"model": b})).status_code == 200
    evictions = (await info(http))["evictions"]
    busy_a = await Streamer(node, a).start()  # a is the least recently loaded, but busy
    try:
        r = await http.post("/models/load", json={"model": c})
        assert r.status_code == 200, r.text
        state = await info(http)
        assert sorted(m["id"] for m in state["models"]) == [a, c]  # b was evicted, not a
        assert state["evictions"] == evictions + 1
        assert next(m for m in state["models"] if m["id"] == a)["in_flight"] == 1
        busy_c = await Streamer(node, c).start()
        try:
            r = await http.post("/models/load", json={"model": b})
            assert r.status_code == 503, r.text
            err = r.json()["error"]
            assert err["code"] == "pool_busy" and a in err["message"] and c in err["message"]
            assert sorted(m["id"] for m in (await info(http))["models"]) == [a, c]
        finally:
            await busy_c.close()
        await asyncio.sleep(0.3)
        # c is idle now (a is still streaming): b evicts c
        r = await http.post("/models/load", json={"model": b})
        assert r.status_code == 200, r.text
        assert sorted(m["id"] for m in (await info(http))["models"]) == [a, b]
        chat = await http.post("/v1/chat/completions", json={**LONG, "model": c, "stream": False, "max_tokens": 2})
        assert chat.status_code == 404 and chat.json()["error"]["param"] == "model"
    finally:
        await busy_a.close()
    assert all(m["in_flight"] == 0 for m in (await wait_idle(http))["models"])


async def test_concurrent_loads_merge_and_health_reports_loading(http: httpx.AsyncClient) -> None:
    await unload_all(http)
    before = (await info(http))["loads_started"]
    loads = [asyncio.create_task(http.post("/models/load", json={"model": "checkpoint-101"})) for _ in range(5)]
    seen_503 = []
    while not all(t.done() for t in loads):
        h = await http.get("/health")
        if h.status_code == 503:
            seen_503.append(h.json())
        await asyncio.sleep(0.005)
    results = [t.result() for t in loads]
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert len({r.json()["loaded_at"] for r in results}) == 1
    assert (await info(http))["loads_started"] == before + 1
    for body in seen_503:  # a nano load is quick: the deterministic check is the next test
        assert body["status"] == "loading" and body["loading"] == ["checkpoint-101"]
    assert (await http.get("/health")).status_code == 200


async def test_health_is_503_while_loading(world, monkeypatch) -> None:
    """In-process app; the real load_runtime is held at its start until the test lets it go."""
    import threading

    from inference_node import pool as pool_module
    from inference_node.app import create_app
    from inference_node.settings import NodeSettings

    gate = threading.Event()
    real = pool_module.load_runtime

    def held(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(pool_module, "load_runtime", held)
    app = create_app(NodeSettings(models_dir=world.models, api_key="k", pool=2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node", timeout=30,
                                 headers={"Authorization": "Bearer k"}) as client:
        assert (await client.get("/health")).status_code == 200
        load = asyncio.create_task(client.post("/models/load", json={"model": "checkpoint-102"}))
        end = time.monotonic() + 10
        while not (await client.get("/models/info")).json()["loading"]:
            assert time.monotonic() < end
            await asyncio.sleep(0.01)
        h = await client.get("/health")
        assert h.status_code == 503 and h.json()["status"] == "loading" and h.json()["loading"] == ["checkpoint-102"]
        chat = await client.post("/v1/chat/completions", json={"model": "checkpoint-102", "max_tokens": 2,
                                                               "messages": [{"role": "user", "content": "x"}]})
        assert chat.status_code == 404 and chat.json()["error"]["code"] == "model_loading"
        gate.set()
        assert (await load).status_code == 200
        assert (await client.get("/health")).status_code == 200


@pytest.mark.slow
async def test_eight_concurrent_streams_complete(node: NodeProcess, http: httpx.AsyncClient) -> None:
    for model in ("checkpoint-100", "checkpoint-101"):
        await http.post("/models/load", json={"model": model})

    async def one(i: int) -> tuple[str, str, int]:
        model = "checkpoint-100" if i % 2 else "checkpoint-101"
        body = {**LONG, "model": model, "max_tokens": 30, "seed": i, "stream_options": {"include_usage": True}}
        async with httpx.AsyncClient(base_url=node.url, headers=node.headers, timeout=60) as client:
            async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                assert r.status_code == 200
                lines = [line async for line in r.aiter_lines() if line.startswith("data:")]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(x[5:]) for x in lines[:-1]]
        assert all(c["model"] == model for c in chunks)
        finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1]
        return model, finish, chunks[-1]["usage"]["completion_tokens"]

    results = await asyncio.gather(*(one(i) for i in range(8)))
    assert [r[1] for r in results] == ["length"] * 8 and [r[2] for r in results] == [30] * 8
    assert all(m["in_flight"] == 0 for m in (await wait_idle(http))["models"])
