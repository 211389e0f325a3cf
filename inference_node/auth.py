"""The API key: every route but `/health` needs `Authorization: Bearer <key>`.

A pure ASGI middleware, so the check runs before routing, body parsing or validation:
without the key every path (unknown ones included) answers 401 in OpenAI's error shape
and reveals nothing else. The comparison is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from inference_node.errors import Unauthorized

OPEN_PATHS = frozenset({"/health"})


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def key_matches(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.api_key is None or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope.get("headers", []))
        if key_matches(token, self.api_key):
            await self.app(scope, receive, send)
            return
        message = ("missing API key: send 'Authorization: Bearer <key>'" if token is None
                   else "invalid API key")
        response = Unauthorized(message).response(headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
