"""POST /v1/batch/completions against a real node: each batched answer is the answer the same
prompt gets alone at temperature 0 (prompts of different lengths, so rows are padded), the
realm Oracle client splits long lists into MAX_BATCH_PROMPTS chunks and keeps the order,
and a bad prompt is named by its index."""

from __future__ import annotations

import httpx

from backend.oracle import OracleClient
from contracts.node_api import HEADER_MODEL, MAX_BATCH_PROMPTS
from node_helpers import KEY, NodeProcess, NodeWorld

PROMPTS = [
    [{"role": "user", "content": "①⓪+①="}],
    [{"role": "user", "content": "①①⓪①⓪①①+①⓪⓪①①①⓪①="}],
    [{"role": "system", "content": "Answer in binary."}, {"role": "user", "content": "①×①⓪①="}],
    [{"role": "user", "content": "Hello"}],
]


async def load(http: httpx.AsyncClient, model: str) -> None:
    r = await http.post("/models/load", json={"model": model})
    assert r.status_code == 200, r.text


async def single(http: httpx.AsyncClient, model: str, messages, max_tokens: int) -> dict:
    r = await http.post("/v1/chat/completions", json={"model": model, "messages": messages,
                                                      "max_tokens": max_tokens, "temperature": 0})
    assert r.status_code == 200, r.text
    return r.json()


async def test_batch_answers_equal_single_answers(node: NodeProcess, world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    r = await http.post("/v1/batch/completions", json={"model": model, "prompts": [{"messages": m} for m in PROMPTS],
                                                       "max_tokens": 16})
    assert r.status_code == 200, r.text
    assert r.headers[HEADER_MODEL] == model
    body = r.json()
    assert body["model"] == model
    assert [c["index"] for c in body["choices"]] == list(range(len(PROMPTS)))
    alone = [await single(http, model, m, 16) for m in PROMPTS]
    assert [c["message"]["content"] for c in body["choices"]] == [a["choices"][0]["message"]["content"] for a in alone]
    assert [c["finish_reason"] for c in body["choices"]] == [a["choices"][0]["finish_reason"] for a in alone]
    assert body["usage"]["prompt_tokens"] == sum(a["usage"]["prompt_tokens"] for a in alone)
    assert body["usage"]["completion_tokens"] == sum(a["usage"]["completion_tokens"] for a in alone)


async def test_oracle_client_chunks_and_keeps_order(node: NodeProcess, world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    many = [PROMPTS[i % len(PROMPTS)] for i in range(MAX_BATCH_PROMPTS + 3)]  # two requests
    client = OracleClient(node.url, KEY, timeout_s=120)
    try:
        texts, identity = await client.chat_batch(model, many, max_tokens=6)
    finally:
        await client.aclose()
    assert identity.model == model
    alone = [(await single(http, model, m, 6))["choices"][0]["message"]["content"] for m in PROMPTS]
    assert texts == [alone[i % len(PROMPTS)] for i in range(len(many))]


async def test_bad_prompt_is_named_by_index(node: NodeProcess, world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    bad = [{"messages": PROMPTS[0]}, {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}]
    r = await http.post("/v1/batch/completions", json={"model": model, "prompts": bad, "max_tokens": 4})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "prompts[1].messages" and error["code"] == "invalid_messages"
    r = await http.post("/v1/batch/completions", json={"model": model, "prompts": [], "max_tokens": 4})
    assert r.status_code in (400, 422), r.text
    too_many = [{"messages": PROMPTS[0]}] * (MAX_BATCH_PROMPTS + 1)
    r = await http.post("/v1/batch/completions", json={"model": model, "prompts": too_many, "max_tokens": 4})
    assert r.status_code in (400, 422), r.text
    assert "prompts" in r.text
    r = await http.post("/v1/batch/completions", json={"model": "checkpoint-999999", "prompts": bad[:1]})
    assert r.status_code == 404, r.text
