"""A request-body limit that holds before anything parses the body.

A pure ASGI middleware. A declared Content-Length over the limit is answered 413 at once,
without reading a byte; a chunked body is counted as it arrives and cut off with 413 the moment
it passes the limit. So one huge chat request can neither fill the node's memory nor keep the
event loop busy parsing it (measured before: a 50 MB message blocked /health for 113 s).
/models/upload streams a checkpoint and has its own limit (`max_upload_mb`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inference_node.errors import NodeError

UNLIMITED_PATHS = frozenset({"/models/upload"})


class RequestTooLarge(NodeError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than this node takes ({limit:,} bytes)",
                         type_="invalid_request_error", code="request_too_large")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await RequestTooLarge(self.max_bytes).response()(scope, receive, send)
                    return
        seen = 0
        started = cut = False

        async def counted_receive() -> Message:
            nonlocal seen, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    cut = True
                    if not started:  # answer now; the app only sees the client leave
                        await RequestTooLarge(self.max_bytes).response()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if cut:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
