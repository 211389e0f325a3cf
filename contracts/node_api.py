"""The inference node's wire contract beyond OpenAI's: identity headers, the
/models/* management bodies, and OpenAI's error shape."""

from __future__ import annotations

import hashlib
import re
import tarfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.utilisation import Utilisation

HEADER_MODEL = "X-Realm-Model"
HEADER_STEP = "X-Realm-Step"
HEADER_SHA256 = "X-Realm-Weights-Sha256"
HEADER_BASE_SHA256 = "X-Realm-Base-Weights-Sha256"  # LoRA checkpoints only: the base under the adapter
API_KEY_HEADER = "Authorization"  # "Bearer <key>", as OpenAI clients send it
HEADER_MANIFEST = "X-Realm-Manifest"  # POST /models/upload: UploadManifest JSON
HEADER_CONTENT_SHA256 = "X-Realm-Content-Sha256"  # GET /models/files/{model}/{file}: the file's ledger digest
MAX_BATCH_PROMPTS = 64  # POST /v1/batch/completions: prompts per request (greedy, evaluation)

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
    base_weights_sha256: str | None = None  # LoRA: the base the adapter was put over
    load_seconds: float = 0.0  # the last load: sha256 verification and loading
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
    utilisation: Utilisation | None = Field(None, description="how busy the node's machine is (its GPU, else CPU)")


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str


class UploadManifest(BaseModel):
    """Sent with POST /models/upload: the files of the checkpoint and their sha256."""

    model_config = ConfigDict(extra="forbid")
    name: str
    files: dict[str, str]  # relative path -> sha256
    sizes: dict[str, int] = Field(description="relative path -> size in bytes: the node writes no member past "
                                  "its size, and refuses a member that declares another (a decompression bomb)")


class UploadResult(BaseModel):
    """The answer to POST /models/upload (201 created, 200 identical files already there)."""

    model_config = ConfigDict(extra="allow")
    name: str
    model: str
    step: int | None
    path: str
    weights_sha256: str
    files: int
    bytes: int
    created: bool


def _folder_files(folder: Path, skip: Collection[str] = ()) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and p.relative_to(folder).as_posix() not in skip)


def upload_manifest(folder: str | Path, name: str | None = None, skip: Collection[str] = ()) -> UploadManifest:
    """The manifest of a checkpoint folder (every regular file's sha256 but those in `skip`;
    reads every byte)."""
    root = Path(folder)
    files, sizes = {}, {}
    for path in _folder_files(root, skip):
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
                size += len(block)
        rel = path.relative_to(root).as_posix()
        files[rel], sizes[rel] = h.hexdigest(), size
    return UploadManifest(name=name or root.name, files=files, sizes=sizes)


def checkpoint_tar_chunks(folder: str | Path, chunk: int = 1 << 20, skip: Collection[str] = ()) -> Iterator[bytes]:
    """The folder's regular files (but those in `skip`) as an uncompressed tar stream, in chunks
    of about `chunk` bytes, never holding a whole file in memory (the body of POST /models/upload)."""
    root = Path(folder)
    for path in _folder_files(root, skip):
        info = tarfile.TarInfo(path.relative_to(root).as_posix())
        info.size = path.stat().st_size
        info.mtime = int(path.stat().st_mtime)
        info.mode = 0o644
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        with open(path, "rb") as f:
            while block := f.read(chunk):
                yield block
        if info.size % tarfile.BLOCKSIZE:
            yield b"\0" * (tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def openai_error(message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
