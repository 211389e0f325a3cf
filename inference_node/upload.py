"""POST /models/upload: a checkpoint folder as a tar stream, verified against its manifest.

Wire format:

- body: a tar archive (`Content-Type: application/x-tar`; gzip-compressed tars are
  recognised by their magic bytes) whose regular files are the checkpoint's files, named
  relative to the checkpoint folder (`config.json`, `./config.json` or
  `<name>/config.json`; directory entries are ignored);
- manifest: `contracts.node_api.UploadManifest` as JSON, in the `X-Realm-Manifest`
  header (or the `manifest` query parameter): the folder's canonical name
  (`checkpoint-<step>-<YYYYMMDD>-<HHMM>`, or `base` when the node has no --base-dir)
  and the sha256 of every file.

The body is read as it arrives and extracted by a worker thread while it streams (at
most a few chunks are buffered): more than --max-upload-mb on the wire or in extracted
sizes is a 413. Members must be regular files at safe relative paths: absolute paths,
`..`, backslashes, NUL, symbolic and hard links, device files, FIFOs, sparse files,
duplicate names and files missing from the manifest are refused (400) and so is a
manifest file missing from the archive. Every file is hashed while it is written
(O_EXCL | O_NOFOLLOW, mode 0644, never tarfile's extract) and must match the manifest;
a checkpoint's ledger must name the folder and its step and list exactly the uploaded
files with the same sha256. The files land in `.upload-*` inside the models folder,
are fsynced, and the folder is renamed to its canonical name in one step. Uploading a
name that exists with identical files is a no-op (200); with other files, or a step
another folder already claims, a 409. A new folder answers 201.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tarfile
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from contracts.checkpoint import (
    LEDGER_NAME,
    WEIGHT_SUFFIXES,
    FileDigest,
    LedgerError,
    combined_weights_sha256,
    parse_checkpoint_name,
    read_ledger,
    serving_files,
    sha256_file,
)
from contracts.fsutil import fsync_dir
from contracts.node_api import HEADER_MANIFEST, UploadManifest, UploadResult
from inference_node.errors import NodeError, UploadConflict, UploadRejected, UploadTooLarge
from inference_node.identity import Catalog

MANIFEST_HEADER = HEADER_MANIFEST
UPLOAD_PREFIX = ".upload-"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PIPE_CHUNKS = 8
COPY_CHUNK = 1 << 20
MAX_MANIFEST_FILES = 10_000
T = TypeVar("T")


# ----- names


def safe_relative(name: str, folder_name: str, what: str = "archive member") -> str | None:
    """The member's path inside the checkpoint folder, None for the folder itself;
    UploadRejected for anything that could land elsewhere."""
    if not name or "\x00" in name or "\\" in name:
        raise UploadRejected(f"{what} {name!r}: empty name, NUL or backslash")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UploadRejected(f"{what} {name!r}: absolute paths are refused")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UploadRejected(f"{what} {name!r}: '..' (path traversal) is refused")
    if parts and parts[0] == folder_name:
        parts = parts[1:]
    return "/".join(parts) or None


def check_manifest(manifest: UploadManifest, base_allowed: bool) -> int | None:
    """The manifest's step (None for base); UploadRejected when it is unusable."""
    if manifest.name == "base":
        if not base_allowed:
            raise UploadConflict("this node serves 'base' from its --base-dir; it cannot be uploaded")
        step = None
    else:
        parsed = parse_checkpoint_name(manifest.name)
        if parsed is None:
            raise UploadRejected(f"manifest name {manifest.name!r} is not a checkpoint name "
                                 "(checkpoint-STEP-YYYYMMDD-HHMM) or 'base'", param="manifest.name")
        step = parsed.step
    if not manifest.files:
        raise UploadRejected("the manifest lists no files", param="manifest.files")
    if len(manifest.files) > MAX_MANIFEST_FILES:
        raise UploadRejected(f"the manifest lists more than {MAX_MANIFEST_FILES} files", param="manifest.files")
    for path, digest in manifest.files.items():
        rel = safe_relative(path, manifest.name, "manifest path")
        if rel != path:
            raise UploadRejected(f"manifest path {path!r} must be a plain relative path inside the folder",
                                 param="manifest.files")
        if not SHA256_RE.match(digest):
            raise UploadRejected(f"manifest sha256 of {path!r} is not 64 lowercase hex digits",
                                 param="manifest.files")
    if set(manifest.sizes) != set(manifest.files) or any(n < 0 for n in manifest.sizes.values()):
        raise UploadRejected("the manifest's sizes must list every file of 'files' once, each >= 0 bytes",
                             param="manifest.sizes")
    if step is not None and LEDGER_NAME not in manifest.files:
        raise UploadRejected(f"a checkpoint upload must include its {LEDGER_NAME}", param="manifest.files")
    return step


def manifest_from(request: Request) -> UploadManifest:
    raw = request.headers.get(MANIFEST_HEADER) or request.query_params.get("manifest")
    if not raw:
        raise UploadRejected(f"no manifest: send UploadManifest JSON in the {MANIFEST_HEADER} header "
                             "(or the 'manifest' query parameter)", param="manifest")
    try:
        return UploadManifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UploadRejected(f"bad manifest: {'.'.join(map(str, first['loc']))}: {first['msg']}",
                             param="manifest") from None


# ----- the byte pipe between the event loop and the extracting thread


class BytePipe:
    """A bounded, blocking byte stream: the event loop writes chunks, a thread reads them."""

    def __init__(self, max_chunks: int = PIPE_CHUNKS) -> None:
        self._chunks: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._max = max_chunks
        self._eof = False
        self._aborted = False
        self._buf = b""

    def try_put(self, chunk: bytes) -> bool | None:
        """Without blocking: True when queued, False when the reader has gone, None when full."""
        with self._cond:
            if self._aborted:
                return False
            if len(self._chunks) >= self._max:
                return None
            self._chunks.append(chunk)
            self._cond.notify_all()
            return True

    def put(self, chunk: bytes) -> bool:
        """Blocks while full; False when the reader has gone (stop sending)."""
        with self._cond:
            while len(self._chunks) >= self._max and not self._aborted:
                self._cond.wait()
            if self._aborted:
                return False
            self._chunks.append(chunk)
            self._cond.notify_all()
            return True

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if not self._buf:
                with self._cond:
                    while not self._chunks and not self._eof and not self._aborted:
                        self._cond.wait()
                    if self._aborted:
                        raise UploadRejected("upload aborted")
                    if not self._chunks:
                        break  # eof
                    self._buf = self._chunks.popleft()
                    self._cond.notify_all()
            take = len(self._buf) if size < 0 else min(size - len(out), len(self._buf))
            out += self._buf[:take]
            self._buf = self._buf[take:]
            if size >= 0 and out:
                break  # a short read is fine for tarfile's stream reader
        return bytes(out)


# ----- extraction (worker thread)


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    if member.issparse():
        return "a sparse file"
    return f"of tar type {member.type!r}"


def extract(pipe: BytePipe, dest: Path, manifest: UploadManifest, max_bytes: int) -> dict[str, FileDigest]:
    """Read the tar stream from `pipe` into `dest`; the sha256 and size of every file."""
    try:
        return _extract(pipe, dest, manifest, max_bytes)
    finally:
        pipe.abort()  # a writer blocked on a full pipe returns at once


def _extract(pipe: BytePipe, dest: Path, manifest: UploadManifest, max_bytes: int) -> dict[str, FileDigest]:
    digests: dict[str, FileDigest] = {}
    total = 0
    try:
        tar = tarfile.open(fileobj=pipe, mode="r|*")  # type: ignore[call-overload]
    except tarfile.TarError as exc:
        raise UploadRejected(f"the body is not a tar archive: {exc}") from None
    try:
        with tar:
            for member in tar:
                rel = safe_relative(member.name, manifest.name)
                if member.isdir():
                    continue
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise UploadRejected(f"archive member {member.name!r} is {_member_kind(member)}; only "
                                         "regular files are accepted")
                if rel is None:
                    raise UploadRejected(f"archive member {member.name!r} is not a file inside the folder")
                if rel in digests:
                    raise UploadRejected(f"archive member {rel!r} appears twice")
                if rel not in manifest.files:
                    raise UploadRejected(f"archive member {rel!r} is not in the manifest")
                if member.size != manifest.sizes[rel]:  # before a byte is written: no decompression bomb
                    raise UploadRejected(f"archive member {rel!r} declares {member.size:,} bytes; the manifest "
                                         f"says {manifest.sizes[rel]:,}")
                total += member.size
                if total > max_bytes:
                    raise UploadTooLarge(f"the checkpoint's files exceed {max_bytes // (1024 * 1024)} MiB "
                                         "(--max-upload-mb)")
                digests[rel] = _write_member(tar, member, dest, rel)
                if digests[rel].sha256 != manifest.files[rel]:
                    raise UploadRejected(f"{rel}: sha256 {digests[rel].sha256[:12]}... differs from the "
                                         f"manifest's {manifest.files[rel][:12]}...")
    except tarfile.TarError as exc:
        raise UploadRejected(f"broken tar archive: {exc}") from None
    missing = sorted(set(manifest.files) - set(digests))
    if missing:
        raise UploadRejected(f"files in the manifest but not in the archive: {', '.join(missing[:5])}")
    fsync_dir(dest)
    return digests


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, rel: str) -> FileDigest:
    target = dest / rel
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if parent.resolve() != parent or not parent.resolve().is_relative_to(dest.resolve()):
        raise UploadRejected(f"archive member {rel!r} would land outside the checkpoint folder")
    src = tar.extractfile(member)
    if src is None:
        raise UploadRejected(f"archive member {rel!r} has no data")
    h = hashlib.sha256()
    size = 0
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise UploadRejected(f"archive member {rel!r} cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as out:
        while size < member.size and (block := src.read(min(COPY_CHUNK, member.size - size))):
            h.update(block)
            out.write(block)
            size += len(block)
        out.flush()
        os.fsync(out.fileno())
    if size != member.size:
        raise UploadRejected(f"archive member {rel!r} is truncated")
    return FileDigest(sha256=h.hexdigest(), size=size)


# ----- checks after extraction


def verify_folder(dest: Path, manifest: UploadManifest, step: int | None,
                  digests: dict[str, FileDigest]) -> str:
    """The weights sha256 of an extracted folder after its ledger (checkpoints) is checked."""
    if step is None:
        weights = {n: d for n, d in digests.items() if "/" not in n and n.endswith(WEIGHT_SUFFIXES)}
        if "config.json" not in digests or not weights:
            raise UploadRejected("a base model upload needs config.json and a weight file")
        return combined_weights_sha256(weights)
    try:
        ledger = read_ledger(dest)
    except LedgerError as exc:
        raise UploadRejected(str(exc).replace(str(dest), manifest.name)) from None
    if ledger.name != manifest.name or ledger.step != step:
        raise UploadRejected(f"the ledger names {ledger.name!r} (step {ledger.step}), not {manifest.name!r}")
    files = {n: d for n, d in digests.items() if n != LEDGER_NAME}
    if set(files) not in (set(ledger.files), serving_files(ledger)):
        extra = sorted(set(files) ^ set(ledger.files))
        raise UploadRejected(f"the uploaded files and the ledger's list differ: {', '.join(extra[:5])}")
    for name, digest in ledger.files.items():
        if name not in files:
            continue  # the resume state, left out of a serving copy
        if files[name].sha256 != digest.sha256 or files[name].size != digest.size:
            raise UploadRejected(f"{name}: differs from the sha256/size in the checkpoint's ledger")
    weights = {n: d for n, d in ledger.files.items() if n.endswith(WEIGHT_SUFFIXES)}
    if not weights or combined_weights_sha256(weights) != ledger.weights_sha256:
        raise UploadRejected("the ledger's weights_sha256 does not match its weight files")
    return ledger.weights_sha256


def folder_digests(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            full = Path(root) / name
            out[str(full.relative_to(folder))] = "symlink" if full.is_symlink() else sha256_file(full)
    return out


DRAIN_LIMIT = 64 * 1024 * 1024


async def drain(stream: "AsyncIterator[bytes]", limit: int) -> None:
    """Read and drop up to `limit` more bytes, so that the client, still sending, gets to read
    the error instead of a reset connection (nothing is kept)."""
    dropped = 0
    async for chunk in stream:
        dropped += len(chunk)
        if dropped > limit:
            return


def in_own_thread(fn: "Callable[..., T]", *args: object) -> "asyncio.Future[T]":
    """Run `fn` in a new thread (not the shared executor, which it could starve for minutes)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: object, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass

    threading.Thread(target=run, name="node-upload", daemon=True).start()
    return future


class Uploader:
    def __init__(self, catalog: Catalog, max_bytes: int, *, base_dir_fixed: bool) -> None:
        self.catalog = catalog
        self.max_bytes = max_bytes
        self.base_dir_fixed = base_dir_fixed
        self._placing = asyncio.Lock()

    def clean_leftovers(self) -> list[Path]:
        """Remove `.upload-*` folders a previous run left behind (they are only ever ours)."""
        removed = []
        if self.catalog.models_dir.is_dir():
            for p in self.catalog.models_dir.iterdir():
                if p.name.startswith(UPLOAD_PREFIX) and p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed

    async def receive(self, request: Request) -> UploadResult:
        manifest = manifest_from(request)
        step = check_manifest(manifest, base_allowed=not self.base_dir_fixed)
        if sum(manifest.sizes.values()) > self.max_bytes:
            raise UploadTooLarge(f"the manifest's files add up to {sum(manifest.sizes.values()):,} bytes; this node "
                                 f"takes at most {self.max_bytes:,} (--max-upload-mb)")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise UploadTooLarge(f"the upload is {int(declared)} bytes; this node takes at most "
                                 f"{self.max_bytes} (--max-upload-mb)")
        models_dir = self.catalog.models_dir
        models_dir.mkdir(parents=True, exist_ok=True)
        dest = models_dir / f"{UPLOAD_PREFIX}{manifest.name}-{uuid.uuid4().hex[:12]}"
        dest.mkdir()
        pipe = BytePipe()
        worker = in_own_thread(extract, pipe, dest, manifest, self.max_bytes)
        try:
            received = 0
            stream = request.stream()
            async for chunk in stream:
                received += len(chunk)
                if received > self.max_bytes:
                    await drain(stream, DRAIN_LIMIT)
                    raise UploadTooLarge(f"the upload exceeds {self.max_bytes} bytes (--max-upload-mb)")
                if worker.done():
                    continue  # the extractor stopped early (a bad archive): read on, its error is the answer
                queued = pipe.try_put(chunk) if chunk else True
                if queued is None:
                    queued = await asyncio.to_thread(pipe.put, chunk)
            pipe.close()
            digests = await worker
            weights_sha = await asyncio.to_thread(verify_folder, dest, manifest, step, digests)
            async with self._placing:
                created = await asyncio.to_thread(self._place, dest, manifest, step, digests)
            final = models_dir / manifest.name
            return UploadResult(name=manifest.name, model="base" if step is None else f"checkpoint-{step}",
                                step=step, path=str(final), weights_sha256=weights_sha, files=len(digests),
                                bytes=sum(d.size for d in digests.values()), created=created)
        except ClientDisconnect:
            raise NodeError("the client went away during the upload", code="upload_incomplete") from None
        finally:
            pipe.abort()
            if not worker.done():
                try:
                    await worker
                except Exception:  # noqa: BLE001 - the first error is already on its way
                    pass
            elif not worker.cancelled():
                worker.exception()  # retrieved
            if dest.exists():  # not renamed into place
                await asyncio.to_thread(shutil.rmtree, dest, True)

    def _place(self, dest: Path, manifest: UploadManifest, step: int | None,
               digests: dict[str, FileDigest]) -> bool:
        """Rename into place; True when created, False when identical files were there already."""
        final = self.catalog.models_dir / manifest.name
        if step is not None:
            for other in self.catalog.models_dir.iterdir():
                parsed = parse_checkpoint_name(other.name)
                if parsed is not None and parsed.step == step and other.name != manifest.name:
                    raise UploadConflict(f"step {step} is already in the models folder as {other.name}; "
                                         "two folders for one step would make checkpoint-{step} ambiguous")
        fsync_dir(dest)
        try:
            os.rename(dest, final)
        except OSError:
            if not final.is_dir() or final.is_symlink():
                raise UploadConflict(f"{manifest.name} exists in the models folder and is not a folder") from None
            existing = folder_digests(final)
            wanted = {n: d.sha256 for n, d in digests.items()}
            if existing == wanted:
                return False
            raise UploadConflict(f"{manifest.name} already exists with different files; refusing to replace it "
                                 "(a checkpoint's files never change under its name)") from None
        fsync_dir(self.catalog.models_dir)
        return True
