"""The Oracle client: talk to the inference node (or any OpenAI-compatible server:
vLLM, llama.cpp's server) about which checkpoints are loaded, load one, and chat
with it, streamed and cancellable, strict about which checkpoint answered."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.config.model import RealmConfig
from backend.errors import UserFacingError
from backend.http_client import (
    ModelNotLoaded,
    ServiceAuthError,
    ServiceClient,
    ServiceDecodeError,
    ServiceHttpError,
    ServiceSettings,
)
from backend.slot import SaveSlot
from contracts.checkpoint import LedgerError, read_ledger, serving_files
from contracts.node_api import (
    HEADER_MANIFEST, HEADER_MODEL, HEADER_SHA256, HEADER_STEP, MAX_BATCH_PROMPTS, checkpoint_tar_chunks, upload_manifest,
)

SERVICE = "inference_node"


class IdentityMismatch(ServiceDecodeError):
    """The server answered with another model than the one asked for."""


@dataclass(frozen=True)
class Identity:
    model: str
    step: int | None
    sha256: str | None

    @property
    def short_sha(self) -> str:
        return (self.sha256 or "")[:12]


@dataclass(frozen=True)
class ModelCard:
    id: str
    step: int | None
    sha256: str | None
    loaded: bool


@dataclass(frozen=True)
class ChatDelta:
    text: str
    identity: Identity
    finish_reason: str | None = None


def local_port(slot: SaveSlot, config: RealmConfig) -> int | None:
    """The local node's port: configured, or the free one it took (run/node.port)."""
    if config.hosts.inference.port:
        return config.hosts.inference.port
    try:
        return int((slot.run_dir / "node.port").read_text().strip())
    except (OSError, ValueError):
        return None


def node_url(config: RealmConfig, slot: SaveSlot | None = None) -> str:
    inference = config.hosts.inference
    if inference.url != "local":
        return inference.url
    port = local_port(slot, config) if slot is not None else inference.port
    return f"http://127.0.0.1:{port or 0}"


DEFAULT_NODE = "inference"  # hosts.inference's name in the hosts registry


def node_settings(slot: SaveSlot, config: RealmConfig, node: str | None = None) -> ServiceSettings:
    """The default node (`node` None or "inference"): the local node's key lives in the slot
    (run/node.key), a remote node's in the environment variable named by hosts.inference.api_key_env.
    A node of hosts.nodes by its name: its URL, and its key from its own variable."""
    if node not in (None, DEFAULT_NODE):
        named = config.hosts.nodes.get(node)  # type: ignore[arg-type]
        if named is None:
            raise UserFacingError(f"no inference node named {node!r} (known: "
                                  f"{', '.join([DEFAULT_NODE, *config.hosts.nodes])})",
                                  fix="add it under hosts.nodes in realm.yaml; `realm hosts` lists them")
        return ServiceSettings(SERVICE, named.url, os.environ.get(named.api_key_env)).with_env()
    key = os.environ.get(config.hosts.inference.api_key_env)
    key_file = slot.run_dir / "node.key"
    if config.hosts.inference.url == "local" and key_file.exists():
        key = key_file.read_text().strip()
    return ServiceSettings(SERVICE, node_url(config, slot), key).with_env()


def identity_from(headers: Any, fallback_model: str) -> Identity:
    step = headers.get(HEADER_STEP)
    return Identity(headers.get(HEADER_MODEL, fallback_model), int(step) if step and step.isdigit() else None,
                    headers.get(HEADER_SHA256) or None)


class OracleClient:
    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float = 60.0, retries: int = 2) -> None:
        self.client = ServiceClient(ServiceSettings(SERVICE, base_url, api_key, timeout_s, retries).with_env())

    @classmethod
    def from_config(cls, slot: SaveSlot, config: RealmConfig, node: str | None = None) -> "OracleClient":
        s = node_settings(slot, config, node)
        return cls(s.base_url, s.api_key, timeout_s=s.timeout_s, retries=s.retries)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def health(self) -> dict[str, Any]:
        return await self.client.get_json("/health", retry=False)

    async def models(self) -> list[ModelCard]:
        """Models the server can answer with now (realm nodes add step and sha256)."""
        listing = await self.client.get_json("/v1/models")
        ids = [m["id"] for m in listing.get("data", [])]
        details = await self.model_details()
        return [ModelCard(i, details.get(i, {}).get("step"), details.get(i, {}).get("weights_sha256"), True) for i in ids]

    async def info(self) -> dict[str, Any]:
        """/models/info of a realm node (models, utilisation ...); empty for plain OpenAI-compatible servers."""
        try:
            return await self.client.get_json("/models/info", retry=False)
        except (ServiceHttpError, ServiceDecodeError) as exc:
            if isinstance(exc, ServiceAuthError):
                raise
            return {}

    async def model_details(self) -> dict[str, dict[str, Any]]:
        """Each loaded model's entry of /models/info, by id."""
        return {m["id"]: m for m in (await self.info()).get("models", [])}

    async def available(self) -> list[str]:
        """Ids the node could load now (checkpoints it has on disk)."""
        info = await self.client.get_json("/models/info", retry=False)
        return list(info.get("available", []))

    async def upload(self, folder: Path) -> dict[str, Any]:
        """Send a checkpoint folder as a tar stream with its sha256 manifest: a serving copy, without
        the resume state (AdamW's moments are twice the weights, and a node never trains)."""
        skip = resume_state_files(folder)
        manifest = await asyncio.to_thread(upload_manifest, folder, None, skip)

        async def body() -> AsyncIterator[bytes]:
            chunks = checkpoint_tar_chunks(folder, skip=skip)
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                yield chunk

        response = await self.client.request(
            "POST", "/models/upload", content=body(), retry=False,
            headers={HEADER_MANIFEST: manifest.model_dump_json(), "Content-Type": "application/x-tar"})
        return response.json()

    async def load(self, model_id: str) -> ModelCard:
        body = await self.client.post_json("/models/load", {"model": model_id}, retry=False)
        return ModelCard(body["id"], body.get("step"), body.get("weights_sha256"), True)

    async def unload(self, model_id: str) -> None:
        await self.client.post_json("/models/unload", {"model": model_id}, retry=False)

    async def stream_chat(self, model_id: str, messages: list[dict[str, str]], *, max_tokens: int = 256,
                          temperature: float = 0.7, top_p: float = 1.0, stop: list[str] | None = None,
                          seed: int | None = None) -> AsyncIterator[ChatDelta]:
        """Content deltas as they arrive. Cancelling the consumer closes the stream
        (the node then cancels the generation)."""
        body = request_body(model_id, messages, max_tokens, temperature, top_p, stop, seed, stream=True)
        async with self.client.stream("POST", "/v1/chat/completions", json=body) as response:
            identity = identity_from(response.headers, model_id)
            check_identity(model_id, identity.model)
            async for line in response.aiter_lines():
                delta = parse_sse_line(line, model_id, identity)
                if delta == "done":
                    return
                if delta is not None:
                    yield delta

    async def chat(self, model_id: str, messages: list[dict[str, str]], **params: Any) -> tuple[str, Identity]:
        """A whole answer at once (evaluations use this at temperature 0)."""
        body = request_body(model_id, messages, stream=False, **{**DEFAULTS, **params})
        response = await self.client.request("POST", "/v1/chat/completions", json=body, retry=True)
        identity = identity_from(response.headers, model_id)
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ServiceDecodeError(SERVICE, f"unexpected chat completion: {response.text[:200]!r}") from exc
        check_identity(model_id, data.get("model", identity.model))
        return text, identity

    async def chat_batch(self, model_id: str, prompts: list[list[dict[str, str]]],
                         max_tokens: int = 256) -> tuple[list[str], Identity]:
        """Greedy answers to many prompts in batched generations of MAX_BATCH_PROMPTS (evaluation), in order."""
        texts: list[str] = []
        identity = Identity(model_id, None, None)
        for start in range(0, len(prompts), MAX_BATCH_PROMPTS):
            chunk = prompts[start:start + MAX_BATCH_PROMPTS]
            body = {"model": model_id, "prompts": [{"messages": m} for m in chunk], "max_tokens": max_tokens}
            response = await self.client.request("POST", "/v1/batch/completions", json=body, retry=True)
            identity = identity_from(response.headers, model_id)
            try:
                data = response.json()
                answers = [c["message"]["content"] or "" for c in sorted(data["choices"], key=lambda c: c["index"])]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise ServiceDecodeError(SERVICE, f"unexpected batch completion: {response.text[:200]!r}") from exc
            if len(answers) != len(chunk):
                raise ServiceDecodeError(SERVICE, f"asked {len(chunk)} prompts, {len(answers)} answers came back")
            check_identity(model_id, data.get("model", identity.model))
            texts += answers
        return texts, identity


DEFAULTS: dict[str, Any] = {"max_tokens": 256, "temperature": 0.7, "top_p": 1.0, "stop": None, "seed": None}


def request_body(model_id: str, messages: list[dict[str, str]], max_tokens: int, temperature: float, top_p: float,
                 stop: list[str] | None, seed: int | None, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model_id, "messages": messages, "max_tokens": max_tokens,
                            "temperature": temperature, "top_p": top_p, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if stop:
        body["stop"] = stop
    if seed is not None:
        body["seed"] = seed
    return body


def resume_state_files(folder: Path) -> set[str]:
    """The resume state a checkpoint folder's ledger names (nothing for a base or without a ledger)."""
    try:
        ledger = read_ledger(folder)
    except LedgerError:
        return set()
    return set(ledger.files) - serving_files(ledger)


def check_identity(asked: str, answered: str) -> None:
    if answered != asked:
        raise IdentityMismatch(SERVICE, f"asked {asked!r} but {answered!r} answered; refusing the answer")


def parse_sse_line(line: str, model_id: str, identity: Identity) -> ChatDelta | str | None:
    """One SSE line -> a delta, 'done', or None (keep-alives, role and usage chunks)."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return "done"
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise ServiceDecodeError(SERVICE, f"bad stream chunk: {data[:200]!r}") from exc
    if "error" in chunk:
        err = chunk["error"] or {}
        cls = ModelNotLoaded if err.get("param") == "model" else ServiceHttpError
        raise cls(SERVICE, int(err.get("status", 500)), str(err.get("message", "error in stream")), code=err.get("code"), param=err.get("param"))
    check_identity(model_id, chunk.get("model", model_id))
    choices = chunk.get("choices") or []
    if not choices:
        return None
    text = (choices[0].get("delta") or {}).get("content") or ""
    finish = choices[0].get("finish_reason")
    if not text and not finish:
        return None
    return ChatDelta(text, identity, finish)
