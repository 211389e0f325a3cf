"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with a status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.node_api import openai_error

# Folders whose absolute server paths never appear in an answer: (path, shown as). Registered by
# create_app; a message names files relative to them ("<models-dir>/checkpoint-40-...").
_HIDDEN: dict[str, str] = {}


def hide_path(path: Path, shown_as: str) -> None:
    for variant in {str(path), str(path.resolve())}:
        _HIDDEN[variant] = shown_as


def redact(message: str) -> str:
    for path in sorted(_HIDDEN, key=len, reverse=True):  # the longest first: nested folders
        message = message.replace(path, _HIDDEN[path])
    return message


class NodeError(Exception):
    """An error the node answers with: HTTP status plus OpenAI's error body."""

    status = 400
    type_ = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, status: int | None = None, param: str | None = None,
                 code: str | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.param = param
        self.code = code or self.code
        self.type_ = type_ or self.type_

    def body(self) -> dict[str, Any]:
        body = openai_error(redact(self.message), type_=self.type_, param=self.param, code=self.code)
        body["error"]["status"] = self.status
        return body

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


class ModelNotFound(NodeError):
    """Unknown, unloaded, missing, changed or gone: a 404 about `model`."""

    status = 404
    code = "model_not_found"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, param="model", code=code)


class AmbiguousModel(NodeError):
    status = 409
    code = "model_ambiguous"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="model")


class PoolBusy(NodeError):
    status = 503
    type_ = "server_error"
    code = "pool_busy"


class LoadFailed(NodeError):
    status = 500
    type_ = "server_error"
    code = "load_failed"


class Unauthorized(NodeError):
    status = 401
    code = "invalid_api_key"


class UploadRejected(NodeError):
    code = "upload_rejected"


class UploadTooLarge(NodeError):
    status = 413
    code = "upload_too_large"


class UploadConflict(NodeError):
    status = 409
    code = "upload_conflict"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NodeError)
    async def _node_error(request: Request, exc: NodeError) -> JSONResponse:  # noqa: ARG001
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:  # noqa: ARG001
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query")]
        param = ".".join(loc) or None
        message = f"{param or 'request'}: {first.get('msg', 'invalid request')}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problems)"
        return NodeError(message, param=param, code="invalid_request").response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:  # noqa: ARG001
        type_ = "server_error" if exc.status_code >= 500 else "invalid_request_error"
        return NodeError(str(exc.detail), status=exc.status_code, type_=type_).response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
        return NodeError(f"internal error: {type(exc).__name__}: {exc}", status=500, type_="server_error",
                         code="internal_error").response()
