"""The FastAPI application: `create_app(settings)`.

Routes (every one but /health needs the API key when one is set):

    GET  /health                 200 ready | 503 while a load is in progress (which model)
    GET  /v1/models              loaded checkpoints, OpenAI's list shape
    POST /v1/chat/completions    OpenAI chat completions, plain and SSE
    GET  /models/info            ModelsInfo: every loaded checkpoint, what is loading, what could load
    POST /models/load            {"model": id} -> LoadedModel (loads, or returns the loaded one)
    POST /models/unload          {"model": id}
    POST /models/upload          a checkpoint as a tar stream (see inference_node.upload)
    GET  /models/files/{model}[/{file}]  a checkpoint's manifest and files, for a pull (inference_node.files)

A chat request never loads anything: an id that is not loaded (or whose files changed
since it was loaded) gets a 404 about `model`; loading is explicit, with /models/load.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from contracts.node_api import LoadRequest
from contracts.utilisation import UtilisationMeter
from engine.chat import ChatFormatError
from inference_node.auth import ApiKeyMiddleware
from inference_node.batch import generate_batch
from inference_node.body_limit import BodyLimitMiddleware
from inference_node.errors import NodeError, hide_path, install_error_handlers
from inference_node.files import install_file_routes
from inference_node.generation import SamplingParams
from inference_node.identity import Catalog
from inference_node.pool import ModelPool
from inference_node.schemas import BatchCompletionRequest, ChatCompletionRequest
from inference_node.settings import NodeSettings
from inference_node.streaming import Generation, SSEResponse, identity_headers, new_completion_id, sse_events
from inference_node.upload import Uploader

log = logging.getLogger("inference_node")


def generation_error(exc: BaseException) -> NodeError:
    if isinstance(exc, NodeError):
        return exc
    log.error("generation failed: %s: %s", type(exc).__name__, exc)
    return NodeError(f"generation failed: {type(exc).__name__}: {exc}", status=500, type_="server_error",
                     code="generation_failed")


def error_body(exc: BaseException) -> dict[str, Any]:
    return generation_error(exc).body()


def resolve_runtime(settings: NodeSettings) -> tuple[torch.device, torch.dtype, str]:
    from engine.loading import resolve_attention, resolve_device, resolve_precision

    device = resolve_device(settings.device)
    precision = resolve_precision("auto", device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    return device, dtype, resolve_attention("auto", device, precision)


def create_app(settings: NodeSettings) -> FastAPI:
    device, dtype, attention = resolve_runtime(settings)
    catalog = Catalog(settings.models_dir, settings.base_dir)
    hide_path(settings.models_dir, "<models-dir>")
    if settings.base_dir is not None:
        hide_path(settings.base_dir, "<base-dir>")
    pool = ModelPool(catalog, settings.pool, device, dtype, attention)
    uploader = Uploader(catalog, settings.max_upload_bytes, base_dir_fixed=settings.base_dir is not None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(title="Realm of Training inference node", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings, app.state.pool, app.state.catalog = settings, pool, catalog
    app.state.uploader = uploader
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)  # added last: runs first

    @app.get("/health")
    async def health() -> JSONResponse:
        body = {"status": "ok", "loaded": list(pool.entries), "loading": sorted(pool.loading),
                "pool_capacity": pool.capacity, "device": str(device)}
        if pool.loading:
            body["status"] = "loading"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": r.model_id, "object": "model", "created": int(r.loaded_at), "owned_by": "realm-of-training",
             "step": r.step, "weights_sha256": r.weights_sha256}
            for r in pool.loaded()
        ]}

    meter = UtilisationMeter([device.index or 0] if device.type == "cuda" else [])

    @app.get("/models/info")
    async def models_info() -> dict[str, Any]:
        info = pool.info()
        info.utilisation = meter.sample()
        return info.model_dump(mode="json")

    @app.post("/models/load")
    async def load(body: LoadRequest) -> JSONResponse:
        runtime = await pool.load(body.model)
        return JSONResponse(runtime.info().model_dump(mode="json"), headers=identity_headers(runtime))

    @app.post("/models/unload")
    async def unload(body: LoadRequest) -> dict[str, Any]:
        runtime = pool.unload(body.model)
        return {"model": runtime.model_id, "unloaded": True, "in_flight": runtime.in_flight,
                "weights_sha256": runtime.weights_sha256}

    install_file_routes(app, catalog)

    @app.post("/models/upload")
    async def upload(request: Request) -> JSONResponse:
        result = await uploader.receive(request)
        return JSONResponse(result.model_dump(mode="json"), status_code=201 if result.created else 200)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest, request: Request) -> Response:
        runtime = pool.acquire(body.model)
        try:
            try:
                messages = [m.as_dict() for m in body.messages]
                runtime.check_prompt_size(messages)
                prompt = await asyncio.to_thread(runtime.prompt_ids, messages)  # the loop keeps answering
            except (ChatFormatError, ValueError) as exc:
                raise NodeError(f"messages: {exc}", param="messages", code="invalid_messages") from None
            room = runtime.context_length - len(prompt)
            if room < 1:
                raise NodeError(f"the prompt is {len(prompt)} tokens; {runtime.model_id} takes at most "
                                f"{runtime.context_length}", param="messages", code="context_length_exceeded")
            limit = body.token_limit()
            params = SamplingParams(max_tokens=min(limit or room, room), temperature=body.temperature,
                                    top_p=body.top_p, stop=body.stop_list(), seed=body.seed,
                                    ignore_eos=body.ignore_eos)
            gen = Generation(pool, runtime, prompt, params, stream=body.stream)
        except BaseException:
            pool.release(runtime)
            raise
        gen.start(request)
        headers = identity_headers(runtime)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return SSEResponse(gen, sse_events(gen, include_usage, error_body), headers)
        try:
            result = await gen.wait()
        except Exception as exc:  # noqa: BLE001 - answered in OpenAI's shape
            raise generation_error(exc) from None
        finally:
            gen.cancel()
        if result is None:  # the client went away; nobody reads this
            return Response(status_code=499)
        return JSONResponse({
            "id": new_completion_id(), "object": "chat.completion", "created": int(time.time()),
            "model": runtime.model_id, "system_fingerprint": runtime.weights_sha256,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result.text},
                         "logprobs": None, "finish_reason": result.finish_reason}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                      "total_tokens": result.prompt_tokens + result.completion_tokens},
        }, headers=headers)

    @app.post("/v1/batch/completions")
    async def batch(body: BatchCompletionRequest) -> JSONResponse:
        """Greedy answers to every prompt at once (evaluation); one choice per prompt, in order."""
        runtime = pool.acquire(body.model)
        cancel = threading.Event()
        try:
            prompts, limits = [], []
            for i, item in enumerate(body.prompts):
                try:
                    messages = [m.as_dict() for m in item.messages]
                    runtime.check_prompt_size(messages)
                    prompt = await asyncio.to_thread(runtime.prompt_ids, messages)
                except (ChatFormatError, ValueError) as exc:
                    raise NodeError(f"prompts[{i}].messages: {exc}", param=f"prompts[{i}].messages",
                                    code="invalid_messages") from None
                room = runtime.context_length - len(prompt)
                if room < 1:
                    raise NodeError(f"prompts[{i}] is {len(prompt)} tokens; {runtime.model_id} takes at most "
                                    f"{runtime.context_length}", param=f"prompts[{i}]", code="context_length_exceeded")
                prompts.append(prompt)
                limits.append(min(body.max_tokens, room))
            try:
                results = await asyncio.to_thread(generate_batch, runtime, prompts, limits, cancel)
            except Exception as exc:  # noqa: BLE001 - answered in OpenAI's shape
                raise generation_error(exc) from None
        finally:
            cancel.set()  # a request cancelled mid-way stops its batch within one token
            pool.release(runtime)
        return JSONResponse({
            "object": "batch.completion", "created": int(time.time()), "model": runtime.model_id,
            "system_fingerprint": runtime.weights_sha256,
            "choices": [{"index": i, "message": {"role": "assistant", "content": r.text}, "finish_reason": r.finish_reason}
                        for i, r in enumerate(results)],
            "usage": {"prompt_tokens": sum(r.prompt_tokens for r in results),
                      "completion_tokens": sum(r.completion_tokens for r in results)},
        }, headers=identity_headers(runtime))

    return app
