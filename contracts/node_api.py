"""The inference node's wire contract beyond OpenAI's: identity headers, the
/models/* management bodies, and OpenAI's error shape."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HEADER_MODEL = "X-Realm-Model"
HEADER_STEP = "X-Realm-Step"
HEADER_SHA256 = "X-Realm-Weights-Sha256"
API_KEY_HEADER = "Authorization"  # "Bearer <key>", as OpenAI clients send it

MODEL_ID_RE = re.compile(r"^(base|checkpoint-(\d+))$")


def parse_model_id(model_id: str) -> int | None:
    """'checkpoint-120' -> 120, 'base' -> None; ValueError for anything else."""
    match = MODEL_ID_RE.match(model_id or "")
    if not match:
        raise ValueError(f"model id must be 'base' or 'checkpoint-<step>', got {model_id!r}")
    return int(match.group(2)) if match.group(2) else None


def model_id_for(step: int | None) -> str:
    return "base" if step is None else f"checkpoint-{step}"


class LoadedModel(BaseModel):
    """One entry of GET /models/info."""

    model_config = ConfigDict(extra="allow")

    id: str
    step: int | None
    path: str
    weights_sha256: str
    profile: str = "none"
    device: str
    dtype: str
    memory_bytes: int = 0
    loaded_at: float
    last_used: float
    in_flight: int = 0


class ModelsInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    models: list[LoadedModel] = Field(default_factory=list)
    pool_capacity: int
    loading: list[str] = Field(default_factory=list)
    available: list[str] = Field(default_factory=list, description="ids a /models/load would load now")


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str


class UploadManifest(BaseModel):
    """Sent with POST /models/upload: the files of the checkpoint and their sha256."""

    model_config = ConfigDict(extra="forbid")
    name: str
    files: dict[str, str]  # relative path -> sha256


def openai_error(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
