"""A huge or out-of-range request is refused before it can freeze the node (the real node over
HTTP): 413 for a body over the limit, declared or streamed, 400 for a prompt that cannot fit the
context, too many messages or a seed out of range; /health answers all the while."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from node_helpers import NodeProcess, NodeWorld

pytestmark = pytest.mark.slow
LIMIT_KB = 256


@pytest.fixture(scope="module")
def limited(world: NodeWorld):
    proc = NodeProcess(world.models, "--pool", "1", "--max-request-kb", str(LIMIT_KB), base_dir=world.base).start()
    yield proc
    proc.stop()


@pytest.fixture
async def client(limited: NodeProcess):
    async with httpx.AsyncClient(base_url=limited.url, headers=limited.headers, timeout=60) as c:
        model = "checkpoint-100"
        assert (await c.post("/models/load", json={"model": model})).status_code == 200
        yield c


def chat(content: str, **extra) -> dict:
    return {"model": "checkpoint-100", "messages": [{"role": "user", "content": content}], "max_tokens": 2,
            "temperature": 0, **extra}


async def test_a_body_over_the_limit_is_413_declared_or_streamed(client: httpx.AsyncClient) -> None:
    big = chat("x" * (LIMIT_KB * 1024 + 10))
    r = await client.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    payload = httpx.Request("POST", "/", json=big).content

    async def chunks():
        for i in range(0, len(payload), 16384):
            yield payload[i:i + 16384]

    r = await client.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert (await client.get("/health")).status_code == 200


async def test_health_answers_while_huge_requests_are_refused(client: httpx.AsyncClient) -> None:
    big = chat("y" * (40 * 1024 * 1024))  # 40 MB: the attack run's size

    async def flood() -> list[int]:
        return [r.status_code for r in await asyncio.gather(
            *(client.post("/v1/chat/completions", json=big) for _ in range(3)))]

    task = asyncio.create_task(flood())
    health = await client.get("/health", timeout=10)
    assert health.status_code == 200
    assert await task == [413, 413, 413]


async def test_a_prompt_that_cannot_fit_is_400_before_tokenizing(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json=chat("z" * (LIMIT_KB * 1024 - 1000)))  # fits the body limit
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded", r.text


@pytest.mark.parametrize("extra,param", [({"seed": 2**200}, "seed"), ({"seed": -1}, "seed"),
                                         ({"max_tokens": 10**30}, "max_tokens"),
                                         ({"stop": ["s" * 1000]}, "stop")])
async def test_out_of_range_fields_are_400(client: httpx.AsyncClient, extra: dict, param: str) -> None:
    r = await client.post("/v1/chat/completions", json=chat("hi", **extra))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


async def test_too_many_messages_is_400(client: httpx.AsyncClient) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "a"} for i in range(5001)]
    r = await client.post("/v1/chat/completions", json={**chat("hi"), "messages": messages})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
