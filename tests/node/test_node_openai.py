"""The official `openai` client and the realm Oracle client against a real node: plain and
streamed chat, identity in headers and in every chunk, greedy determinism equal to a direct
`generate`, UTF-8 across tokens, stop strings, seeds and the profile's logit penalties."""

from __future__ import annotations

import json

import httpx
import pytest
from openai import AsyncOpenAI, AuthenticationError, NotFoundError

from node_helpers import THINK_MESSAGES, NodeWorld
from contracts.checkpoint import read_ledger
from contracts.node_api import HEADER_MODEL, HEADER_SHA256, HEADER_STEP
from node_helpers import KEY, NodeProcess, direct_greedy

ADD = [{"role": "user", "content": "①⓪+①="}]


async def load(http: httpx.AsyncClient, model: str) -> dict:
    r = await http.post("/models/load", json={"model": model})
    assert r.status_code == 200, r.text
    return r.json()


def ledger_sha(world: NodeWorld, model: str) -> str:
    step = int(model.split("-")[1])
    folder = next(p for p in world.models.iterdir() if p.name.startswith(f"checkpoint-{step}-"))
    return read_ledger(folder).weights_sha256


def folder_of(world: NodeWorld, model: str):
    step = int(model.split("-")[1])
    return next(p for p in world.models.iterdir() if p.name.startswith(f"checkpoint-{step}-"))


async def test_openai_client_plain_and_streamed(node: NodeProcess, world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    client = AsyncOpenAI(base_url=f"{node.url}/v1", api_key=KEY, max_retries=0)
    try:
        plain = await client.chat.completions.create(model=model, messages=ADD, max_tokens=12, temperature=0)
        assert plain.model == model
        assert plain.choices[0].finish_reason in ("stop", "length")
        text = plain.choices[0].message.content
        assert text and "\ufffd" not in text
        assert plain.usage is not None and plain.usage.completion_tokens <= 12
        stream = await client.chat.completions.create(model=model, messages=ADD, max_tokens=12, temperature=0,
                                                      stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        assert all(c.model == model for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == text
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finishes == [plain.choices[0].finish_reason]
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
        listed = await client.models.list()
        assert model in [m.id for m in listed.data]
        with pytest.raises(NotFoundError) as err:
            await client.chat.completions.create(model="checkpoint-999999", messages=ADD, max_tokens=3)
        assert err.value.body["param"] == "model"
    finally:
        await client.close()
    bad = AsyncOpenAI(base_url=f"{node.url}/v1", api_key="wrong-key", max_retries=0)
    try:
        with pytest.raises(AuthenticationError):
            await bad.chat.completions.create(model=model, messages=ADD, max_tokens=3)
    finally:
        await bad.close()


async def test_every_chunk_and_header_names_the_checkpoint(world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    sha = ledger_sha(world, model)
    body = {"model": model, "messages": ADD, "max_tokens": 10, "temperature": 0.8, "seed": 1, "stream": True,
            "stream_options": {"include_usage": True}}
    async with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert (r.headers[HEADER_MODEL], r.headers[HEADER_STEP], r.headers[HEADER_SHA256]) == (
            model, model.split("-")[1], sha)
        lines = [line async for line in r.aiter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[5:]) for line in lines[:-1]]
    assert len(chunks) >= 3 and all(c["model"] == model for c in chunks)
    assert all(c["system_fingerprint"] == sha for c in chunks)
    assert "usage" in chunks[-1]
    r = await http.post("/v1/chat/completions", json={**body, "stream": False})
    assert r.json()["model"] == model and r.headers[HEADER_SHA256] == sha and r.headers[HEADER_STEP] == "6"
    info = (await http.get("/models/info")).json()
    entry = next(m for m in info["models"] if m["id"] == model)
    assert entry["weights_sha256"] == sha and entry["step"] == 6 and entry["path"].endswith(folder_of(world, model).name)


async def test_greedy_is_deterministic_and_equals_direct_generate(world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    body = {"model": model, "messages": ADD, "max_tokens": 16, "temperature": 0}
    first = (await http.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
    second = (await http.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
    assert first == second
    assert first == direct_greedy(folder_of(world, model), ADD, 16)
    for other in ("checkpoint-100", "checkpoint-3"):  # an untrained-ish and the other trained one
        await load(http, other)
        got = (await http.post("/v1/chat/completions", json={**body, "model": other})).json()
        assert got["model"] == other
        assert got["choices"][0]["message"]["content"] == direct_greedy(folder_of(world, other), ADD, 16)


async def test_seeded_sampling_repeats_and_stop_strings_are_never_emitted(world: NodeWorld,
                                                                          http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    body = {"model": model, "messages": ADD, "max_tokens": 24, "temperature": 1.0, "top_p": 0.95,
            "seed": 11, "ignore_eos": True}
    a = (await http.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
    b = (await http.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
    assert a == b and len(a) >= 10
    stop = a[4:6]  # two circled digits: two tokens, so the stop string spans tokens
    cut = a[: a.index(stop)]
    for stream in (False, True):
        r = await http.post("/v1/chat/completions", json={**body, "stop": [stop, "never-seen"], "stream": stream})
        if stream:
            chunks = [json.loads(x[5:]) for x in r.text.splitlines() if x.startswith("data: {")]
            text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
            finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1]
        else:
            text, finish = r.json()["choices"][0]["message"]["content"], r.json()["choices"][0]["finish_reason"]
        assert text == cut and stop not in text and finish == "stop"


async def test_profile_penalties_suppress_think(world: NodeWorld, http: httpx.AsyncClient) -> None:
    """Both checkpoints have the same weights, built so that `<think>` wins the first token by 50
    logits; only the emoji_think one carries the profile with a -100 penalty (and stop 🏁)."""
    body = {"messages": THINK_MESSAGES, "max_tokens": 6, "temperature": 0}
    await load(http, "checkpoint-200")
    plain = (await http.post("/v1/chat/completions", json={**body, "model": "checkpoint-200"})).json()
    assert plain["choices"][0]["message"]["content"].startswith("<think>")
    await load(http, "checkpoint-201")
    info = next(m for m in (await http.get("/models/info")).json()["models"] if m["id"] == "checkpoint-201")
    assert info["profile"] == "emoji_think"
    steered = (await http.post("/v1/chat/completions", json={**body, "model": "checkpoint-201"})).json()
    assert "<think>" not in steered["choices"][0]["message"]["content"]


async def test_bad_requests_are_openai_errors(world: NodeWorld, http: httpx.AsyncClient) -> None:
    model = world.trained[-1]
    await load(http, model)
    cases = [
        {"model": model, "messages": []},
        {"model": model, "messages": [{"role": "tool", "content": "x"}]},
        {"model": model, "messages": ADD, "temperature": 5},
        {"model": model, "messages": ADD, "n": 2},
        {"model": model, "messages": ADD, "stop": [""]},
    ]
    for body in cases:
        r = await http.post("/v1/chat/completions", json=body)
        assert r.status_code == 400, (body, r.text)
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error" and err["message"]
    r = await http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()


async def test_oracle_client_against_the_node(node: NodeProcess, world: NodeWorld) -> None:
    from backend.http_client import ModelNotLoaded
    from backend.oracle import OracleClient

    model = world.trained[0]
    oracle = OracleClient(node.url, KEY, timeout_s=30, retries=0)
    try:
        card = await oracle.load(model)
        assert (card.id, card.step, card.sha256) == (model, 3, ledger_sha(world, model))
        assert model in [c.id for c in await oracle.models()]
        text, ident = await oracle.chat(model, ADD, max_tokens=8, temperature=0)
        assert (ident.model, ident.step, ident.sha256) == (model, 3, ledger_sha(world, model))
        deltas = [d async for d in oracle.stream_chat(model, ADD, max_tokens=8, temperature=0)]
        assert "".join(d.text for d in deltas) == text
        assert deltas[-1].finish_reason in ("stop", "length")
        await oracle.unload(model)
        with pytest.raises(ModelNotLoaded):
            await oracle.chat(model, ADD, max_tokens=4)
        with pytest.raises(ModelNotLoaded):
            async for _ in oracle.stream_chat(model, ADD, max_tokens=4):
                pass
        assert (await oracle.health())["status"] == "ok"
    finally:
        await oracle.aclose()
