"""An error during generation is reported inside the stream (and as a 500 for a plain request),
in OpenAI's error shape; the in-flight count still returns to zero. In-process app; the real
sampling loop fails on purpose after its first pieces of text."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from node_helpers import NodeWorld


@pytest.fixture
async def failing_client(world: NodeWorld, monkeypatch: pytest.MonkeyPatch):
    from inference_node import streaming
    from inference_node.app import create_app
    from inference_node.settings import NodeSettings

    real = streaming.generate

    def broken(runtime, prompt_ids, params, cancel, on_text=None):
        def explode(text: str) -> None:
            if on_text is not None:
                on_text(text)
            raise RuntimeError("CUDA out of memory (simulated)")

        return real(runtime, prompt_ids, params, cancel, explode)

    monkeypatch.setattr(streaming, "generate", broken)
    app = create_app(NodeSettings(models_dir=world.models, api_key="k", pool=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node", timeout=30,
                                 headers={"Authorization": "Bearer k"}) as client:
        assert (await client.post("/models/load", json={"model": "checkpoint-100"})).status_code == 200
        yield client


async def test_error_mid_stream_and_in_plain_requests(failing_client: httpx.AsyncClient) -> None:
    from backend.http_client import ServiceHttpError
    from backend.oracle import ChatDelta, parse_sse_line, Identity

    body = {"model": "checkpoint-100", "messages": [{"role": "user", "content": "①+①="}], "max_tokens": 20,
            "temperature": 0.5, "seed": 1, "ignore_eos": True, "stream": True}
    r = await failing_client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200
    data = [line for line in r.text.splitlines() if line.startswith("data:")]
    last = json.loads(data[-1][5:])
    assert last["error"]["status"] == 500 and "out of memory" in last["error"]["message"]
    assert last["error"]["type"] == "server_error" and last["error"]["model"] == "checkpoint-100"
    assert "[DONE]" not in r.text
    ident = Identity("checkpoint-100", 100, None)
    deltas = []
    with pytest.raises(ServiceHttpError):
        for line in data:
            out = parse_sse_line(line, "checkpoint-100", ident)
            if isinstance(out, ChatDelta):
                deltas.append(out)
    plain = await failing_client.post("/v1/chat/completions", json={**body, "stream": False})
    assert plain.status_code == 500 and "out of memory" in plain.json()["error"]["message"]
    for _ in range(100):  # the generating thread's bookkeeping ends just after the response
        info = (await failing_client.get("/models/info")).json()
        if info["models"][0]["in_flight"] == 0:
            break
        await asyncio.sleep(0.05)
    assert info["models"][0]["in_flight"] == 0
