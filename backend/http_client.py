"""One HTTP client layer on httpx for every service we talk to (the inference
node, remote skill APIs): timeouts, retries with exponential backoff for
connection errors and 5xx, and typed errors.

Per-service environment overrides (NAME is the service name upper-cased, e.g.
INFERENCE_NODE): REALM_<NAME>_TIMEOUT (seconds), REALM_<NAME>_RETRIES,
REALM_<NAME>_KEY (API key, wins over the configured key variable).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx


class ServiceError(Exception):
    def __init__(self, service: str, message: str) -> None:
        self.service = service
        super().__init__(f"{service}: {message}")


class ServiceUnavailable(ServiceError):
    """Could not reach the service (refused, timed out, DNS)."""


class ServiceDecodeError(ServiceError):
    """The service answered something that is not what the contract says."""


class ServiceHttpError(ServiceError):
    def __init__(self, service: str, status: int, message: str, *, code: str | None = None,
                 param: str | None = None, body: Any = None) -> None:
        self.status, self.message, self.code, self.param, self.body = status, message, code, param, body
        super().__init__(service, f"HTTP {status}: {message}")


class ServiceAuthError(ServiceHttpError):
    """401/403: a missing or wrong API key."""


class ModelNotLoaded(ServiceHttpError):
    """404 about the model: unknown, not loaded, or gone."""


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    base_url: str
    api_key: str | None = None
    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 0.25

    def with_env(self, environ: Mapping[str, str] | None = None) -> "ServiceSettings":
        env = os.environ if environ is None else environ
        prefix = f"REALM_{self.name.upper()}_"
        out = self
        if env.get(prefix + "TIMEOUT"):
            out = replace(out, timeout_s=float(env[prefix + "TIMEOUT"]))
        if env.get(prefix + "RETRIES"):
            out = replace(out, retries=int(env[prefix + "RETRIES"]))
        if env.get(prefix + "KEY"):
            out = replace(out, api_key=env[prefix + "KEY"])
        return out


def error_from_response(service: str, response: httpx.Response, body: bytes) -> ServiceHttpError:
    """Map an error response (OpenAI's error shape when present) to a typed error."""
    message, code, param, parsed = response.reason_phrase or "error", None, None, None
    try:
        parsed = json.loads(body)
        err = parsed.get("error", parsed) if isinstance(parsed, dict) else {}
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or message)
            code, param = err.get("code"), err.get("param")
    except (ValueError, AttributeError):
        message = body.decode(errors="replace")[:500] or message
    cls: type[ServiceHttpError] = ServiceHttpError
    if response.status_code in (401, 403):
        cls = ServiceAuthError
    elif response.status_code == 404 and param == "model":
        cls = ModelNotLoaded
    return cls(service, response.status_code, message, code=code, param=param, body=parsed)


class ServiceClient:
    def __init__(self, settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.http = httpx.AsyncClient(base_url=settings.base_url, headers=headers,
                                      timeout=httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s)),
                                      transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries (connection errors and 5xx); raise typed errors."""
        attempts = 1 + (self.settings.retries if retry else 0)
        delay = self.settings.backoff_s
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self.http.request(method, path, **kwargs)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if last:
                    raise ServiceUnavailable(self.settings.name, f"cannot reach {self.settings.base_url}{path}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return response
                if response.status_code < 500 or last:
                    raise error_from_response(self.settings.name, response, response.content)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        return decode_json(self.settings.name, await self.request("GET", path, **kwargs))

    async def post_json(self, path: str, body: Any, *, retry: bool = True, **kwargs: Any) -> Any:
        return decode_json(self.settings.name, await self.request("POST", path, json=body, retry=retry, **kwargs))

    @asynccontextmanager
    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A streamed response (no retry once bytes flow); errors raised typed."""
        try:
            async with self.http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    raise error_from_response(self.settings.name, response, await response.aread())
                yield response
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise ServiceUnavailable(self.settings.name, f"stream from {self.settings.base_url}{path} broke: {type(exc).__name__}: {exc}") from exc


def decode_json(service: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ServiceDecodeError(service, f"expected JSON from {response.request.url}, got {response.text[:200]!r}") from exc
