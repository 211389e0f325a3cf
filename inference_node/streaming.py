"""Running a generation off the event loop, and serving it as SSE or as one JSON answer.

`Generation` runs `generation.generate` in its own thread (a thread per request, so a
busy worker pool can never delay a stream or a load) and appends each piece of text to
a deque; the event loop is woken (`call_soon_threadsafe`) only when it is waiting for
one. A stream writes whatever has gathered, then pauses FLUSH_EVERY_S (4 ms) before
looking again, so at hundreds of tokens per second several SSE chunks (still one per
piece of text) share one wake-up and one socket write; a plain request receives only
the result. Cancellation is a flag the generating thread checks before every token;
it is set when:

- the client disconnects: Starlette cancels a streaming body when the connection
  drops, and a watcher polls `request.is_disconnected()` for plain and streamed
  requests alike (every 0.2 s);
- the response ends for any other reason (`SSEResponse` always cancels on exit).

The runtime's in-flight count is released when the thread ends, not when the response
does, so `/models/info` and the pool see the truth (a cancelled generation stops
within one token).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from contracts.node_api import HEADER_BASE_SHA256, HEADER_MODEL, HEADER_SHA256, HEADER_STEP
from inference_node.generation import GenerationResult, SamplingParams, generate

if TYPE_CHECKING:
    from inference_node.loading import ModelRuntime
    from inference_node.pool import ModelPool

DISCONNECT_POLL_S = 0.2
FLUSH_EVERY_S = 0.004  # a stream sends what accumulated at most this often (tokens wait <= 4 ms)


@dataclass(frozen=True)
class Finished:
    result: GenerationResult


@dataclass(frozen=True)
class Failed:
    error: BaseException


class Disconnected:
    pass


Item = str | Finished | Failed | Disconnected


def identity_headers(runtime: "ModelRuntime") -> dict[str, str]:
    headers = {HEADER_MODEL: runtime.model_id, HEADER_STEP: "none" if runtime.step is None else str(runtime.step),
               HEADER_SHA256: runtime.weights_sha256}
    if runtime.base_weights_sha256:
        headers[HEADER_BASE_SHA256] = runtime.base_weights_sha256
    return headers


class Generation:
    """One request's generation in a worker thread, observed from the event loop."""

    def __init__(self, pool: "ModelPool", runtime: "ModelRuntime", prompt_ids: list[int],
                 params: SamplingParams, *, stream: bool = True) -> None:
        self.pool, self.runtime = pool, runtime
        self.stream = stream  # False: no text pieces cross over, only the result
        self.prompt_ids, self.params = prompt_ids, params
        self.loop = asyncio.get_running_loop()
        self._items: deque[Item] = deque()  # appended by the thread, drained by the loop
        self._ready = asyncio.Event()
        self._waiting = False  # the loop side is blocked in next_items (only then is a wake-up needed)
        self._wake_pending = False  # one wake-up in flight covers every item appended before it runs
        self.cancel_flag = threading.Event()
        self.done = asyncio.Event()
        self.result: GenerationResult | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._watcher: asyncio.Task[None] | None = None

    def start(self, request: Request | None = None) -> "Generation":
        self._thread = threading.Thread(target=self._run, name=f"gen-{self.runtime.model_id}", daemon=True)
        self._thread.start()
        if request is not None:
            self._watcher = asyncio.create_task(self._watch(request))
        return self

    def cancel(self) -> None:
        self.cancel_flag.set()

    # ----- worker thread side

    def _post(self, item: Item) -> None:
        self._items.append(item)
        if not self._waiting or self._wake_pending:
            return
        self._wake_pending = True
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed (shutdown): nobody is listening
            self.cancel_flag.set()

    def _wake(self) -> None:
        self._wake_pending = False
        self._waiting = False
        self._ready.set()

    def _run(self) -> None:
        try:
            result = generate(self.runtime, self.prompt_ids, self.params, self.cancel_flag,
                              self._post if self.stream else None)
            self.result = result
            self._post(Finished(result))
        except BaseException as exc:  # noqa: BLE001 - reported to the client
            self.error = exc
            self._post(Failed(exc))
        finally:
            try:
                self.loop.call_soon_threadsafe(self._finished)
            except RuntimeError:
                pass

    # ----- event loop side

    def _finished(self) -> None:
        cancelled = self.result is not None and self.result.finish_reason == "cancelled"
        self.pool.release(self.runtime, cancelled=cancelled)
        self.done.set()
        if self._watcher is not None:
            self._watcher.cancel()

    async def _watch(self, request: Request) -> None:
        while not self.done.is_set():
            await asyncio.sleep(DISCONNECT_POLL_S)
            if await request.is_disconnected():
                self.cancel()
                self._items.append(Disconnected())
                self._waiting = False
                self._ready.set()
                return

    async def next_items(self) -> list[Item]:
        """At least one item; everything already posted comes along."""
        while not self._items:
            self._ready.clear()
            self._waiting = True
            if self._items:  # posted between the check and the flag: no wake-up was sent
                self._waiting = False
                break
            await self._ready.wait()
        items = []
        while self._items:
            items.append(self._items.popleft())
        return items

    async def wait(self) -> GenerationResult | None:
        """The result, None when the client went away; raises what the generation raised."""
        while True:
            for item in await self.next_items():
                if isinstance(item, Finished):
                    return item.result
                if isinstance(item, Failed):
                    raise item.error
                if isinstance(item, Disconnected):
                    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ChunkWriter:
    """SSE lines of `chat.completion.chunk` objects for one response; each carries the model id."""

    def __init__(self, runtime: "ModelRuntime", completion_id: str, created: int) -> None:
        self.head = _dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                            "model": runtime.model_id, "system_fingerprint": runtime.weights_sha256})[:-1]
        self.model_id = runtime.model_id

    def _chunk(self, delta: dict[str, Any] | str, finish: str | None = None) -> str:
        body = delta if isinstance(delta, str) else _dumps(delta)
        return (f'data: {self.head},"choices":[{{"index":0,"delta":{body},"logprobs":null,'
                f'"finish_reason":{_dumps(finish)}}}]}}\n\n')

    def role(self) -> str:
        return self._chunk({"role": "assistant", "content": ""})

    def content(self, text: str) -> str:
        return self._chunk('{"content":' + _dumps(text) + "}")

    def finish(self, reason: str) -> str:
        return self._chunk("{}", reason)

    def usage(self, result: GenerationResult) -> str:
        usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                 "total_tokens": result.prompt_tokens + result.completion_tokens}
        return f'data: {self.head},"choices":[],"usage":{_dumps(usage)}}}\n\n'

    def error(self, body: dict[str, Any]) -> str:
        err = dict(body.get("error", body))
        err.setdefault("model", self.model_id)
        return f"data: {_dumps({'error': err})}\n\n"


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


async def sse_events(gen: Generation, include_usage: bool, error_body: Any) -> AsyncIterator[str]:
    """role chunk, content deltas, the finish chunk, usage (when asked), [DONE]; errors in-stream."""
    writer = ChunkWriter(gen.runtime, new_completion_id(), int(time.time()))
    yield writer.role()
    try:
        while True:
            out: list[str] = []
            for item in await gen.next_items():
                if isinstance(item, str):
                    out.append(writer.content(item))
                elif isinstance(item, Finished):
                    if item.result.finish_reason == "cancelled":
                        return
                    out.append(writer.finish(item.result.finish_reason))
                    if include_usage:
                        out.append(writer.usage(item.result))
                    out.append("data: [DONE]\n\n")
                    yield "".join(out)
                    return
                elif isinstance(item, Failed):
                    out.append(writer.error(error_body(item.error)))
                    yield "".join(out)
                    return
                else:  # Disconnected
                    return
            if out:
                yield "".join(out)
            # let a few tokens gather: fewer wake-ups and writes per token, unnoticeable delay
            await asyncio.sleep(FLUSH_EVERY_S)
    finally:
        gen.cancel()


class SSEResponse(StreamingResponse):
    """A streaming response that cancels its generation however it ends."""

    def __init__(self, gen: Generation, content: AsyncIterator[str], headers: dict[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.gen = gen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.gen.cancel()
