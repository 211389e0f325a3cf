"""Pulling a checkpoint's serving copy back from an inference node (GET /models/files/...).

A node holds the weights, config, tokenizer and ledger, never the resume state, so the copy that
lands on the trainer is a thinned checkpoint: its ledger says so and it is never resumed exactly.
Files are staged like every transfer (backend.vault.transfer): a `.part` per file, resumed with a
Range request after an interruption, checked against the ledger's sha256 before it is renamed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from backend.oracle import OracleClient
from backend.vault.transfer import Progress, TransferError, staged_part, staging_folder
from contracts.checkpoint import (
    LEDGER_NAME,
    CheckpointLedger,
    check_checkpoint,
    parse_checkpoint_name,
    write_ledger,
)
from contracts.fsutil import fsync_dir
from contracts.node_api import HEADER_CONTENT_SHA256


async def pull_from_node(client: OracleClient, model_id: str, dest_root: Path, expect_sha256: str | None,
                         progress: Progress | None = None) -> Path:
    """The node's copy of `model_id` into `dest_root/<its name>`; returns that folder."""
    manifest: dict[str, Any] = await client.client.get_json(f"/models/files/{model_id}")
    name = str(manifest.get("name", ""))
    if parse_checkpoint_name(name) is None:
        raise TransferError(f"the node names {model_id} {name!r}, not a checkpoint folder")
    if expect_sha256 and manifest.get("weights_sha256") != expect_sha256:
        raise TransferError(f"the node's {model_id} has other weights than the vault's checkpoint (sha256 "
                            f"{str(manifest.get('weights_sha256'))[:12]}, expected {expect_sha256[:12]})")
    dest = dest_root / name
    if dest.is_dir():
        if not await asyncio.to_thread(check_checkpoint, dest, verify_hashes=True):
            return dest
        raise TransferError(f"{dest} exists and is not a sound copy of {name}; set it aside first")
    staging = staging_folder(dest_root, name)
    staging.mkdir(parents=True, exist_ok=True)
    raw = await fetch_small(client, model_id, LEDGER_NAME)
    ledger = CheckpointLedger.model_validate(json.loads(raw))
    files = manifest.get("files", {})
    unsafe = [n for n in files if not plain_file_name(n)]
    if unsafe:
        raise TransferError(f"the node names files that are not plain names inside a checkpoint ({unsafe[:3]}); "
                            "nothing was written")
    if ledger.name != name or any(n not in ledger.files or ledger.files[n].sha256 != d["sha256"] for n, d in files.items()):
        raise TransferError(f"the node's ledger of {name} does not match its file list")
    total, done = sum(int(d["size"]) for d in files.values()), 0
    for fname in sorted(files):
        digest = ledger.files[fname]
        done = await download(client, model_id, fname, staging / fname, digest.sha256, digest.size, done, total,
                              progress)
    kept = {n: d for n, d in ledger.files.items() if n in files}
    resume = ledger.resume.model_copy(update={"thinned": True}) if ledger.resume is not None else None
    write_ledger(staging, ledger.model_copy(update={"files": kept, "resume": resume}))
    problems = check_checkpoint(staging.rename(dest))
    fsync_dir(dest_root)
    if problems:
        raise TransferError(f"{name} from the node is not complete: {'; '.join(problems[:3])}")
    return dest


def plain_file_name(name: str) -> bool:
    """A file name that stays inside the folder it is joined to: no separator, no `..`, not hidden."""
    return bool(name) and name == Path(name).name and "\\" not in name and not name.startswith(".") and "\0" not in name


async def fetch_small(client: OracleClient, model_id: str, fname: str) -> bytes:
    response = await client.client.request("GET", f"/models/files/{model_id}/{fname}", retry=True)
    body = response.content
    if hashlib.sha256(body).hexdigest() != response.headers.get(HEADER_CONTENT_SHA256):
        raise TransferError(f"{fname} of {model_id} arrived damaged (its sha256 differs)")
    return body


async def download(client: OracleClient, model_id: str, fname: str, final: Path, sha256: str, size: int,
                   done: int, total: int, progress: Progress | None) -> int:
    """One file into place, going on from its `.part` with a Range request; the bytes done so far."""
    if final.is_file() and final.stat().st_size == size:
        return done + size
    part, have, digest = await asyncio.to_thread(staged_part, final, size)
    if have == size:  # complete before a crash kept it from its rename: no request
        return await asyncio.to_thread(keep_part, part, final, digest.hexdigest(), sha256, fname, model_id, done + size)
    headers = {"Range": f"bytes={have}-"} if have else {}
    async with client.client.stream("GET", f"/models/files/{model_id}/{fname}", headers=headers) as response:
        if have and response.status_code != 206:  # the node ignored the range: start the file again
            have, digest = 0, hashlib.sha256()
        with open(part, "ab" if have else "wb") as out:
            position = done + have
            async for block in response.aiter_bytes(1 << 20):
                out.write(block)
                digest.update(block)
                position += len(block)
                if progress is not None:
                    progress(position, total)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
    return await asyncio.to_thread(keep_part, part, final, digest.hexdigest(), sha256, fname, model_id, done + size)


def keep_part(part: Path, final: Path, got: str, sha256: str, fname: str, model_id: str, done: int) -> int:
    """Rename a part that matches the ledger into place; remove one that does not."""
    if got != sha256:
        part.unlink(missing_ok=True)
        raise TransferError(f"{fname} of {model_id} does not match the ledger's sha256; the part was removed, a retry "
                            "copies it afresh")
    os.replace(part, final)
    return done
