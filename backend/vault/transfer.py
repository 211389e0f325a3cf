"""Copying a checkpoint folder into another zone, verified and resumable.

Each file is written as `NAME.part` inside `.tmp-CHECKPOINT.transfer` in the destination, then
checked against the ledger's sha256 and renamed; the folder is renamed to the checkpoint's name
once every file is in. An interrupted transfer leaves the staging folder: the next one goes on
from the bytes already there (a part file that does not match the ledger is thrown away and
copied again). A copy that arrives corrupt is never renamed into place."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from contracts.checkpoint import TEMP_PREFIX, check_checkpoint, read_ledger, write_ledger
from contracts.fsutil import fsync_dir

CHUNK = 4 << 20
TRANSFER_SUFFIX = ".transfer"  # contracts.checkpoint.stale_temp_folders leaves these alone: a retry goes on
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class TransferError(RuntimeError):
    """A source that is not a complete checkpoint, or a copy that does not match its ledger."""


def staging_folder(dest_root: Path, name: str) -> Path:
    return dest_root / f"{TEMP_PREFIX}{name}{TRANSFER_SUFFIX}"


def copy_checkpoint(source: Path, dest_root: Path, progress: Progress | None = None) -> Path:
    """Copy the checkpoint folder `source` to `dest_root/<its name>`; returns that folder. A
    verified copy already there is kept as it is."""
    problems = check_checkpoint(source)
    if problems:
        raise TransferError(f"{source.name} is not a complete checkpoint: {'; '.join(problems[:3])}")
    ledger = read_ledger(source)
    dest = dest_root / ledger.name
    if dest.is_dir() and not check_checkpoint(dest, verify_hashes=True):
        return dest
    if dest.exists():
        raise TransferError(f"{dest} exists and is not a sound copy of {ledger.name}; set it aside first")
    dest_root.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(dest_root, ledger.name)
    staging.mkdir(exist_ok=True)
    total = sum(d.size for d in ledger.files.values())
    done = 0
    for fname, digest in sorted(ledger.files.items()):
        done = copy_file(source / fname, staging / fname, digest.sha256, digest.size, done, total, progress)
    for stray in staging.iterdir():  # left by an earlier attempt at another state of the source (thinned since)
        if stray.name not in ledger.files:
            stray.unlink()
    write_ledger(staging, ledger)  # the ledger whose files were checked, fsynced
    os.rename(staging, dest)
    fsync_dir(dest_root)
    problems = check_checkpoint(dest)
    if problems:  # cannot happen after the per-file checks, unless the disk lies
        raise TransferError(f"{dest}: {'; '.join(problems[:3])}")
    return dest


def copy_file(src: Path, final: Path, sha256: str, size: int, done: int, total: int,
              progress: Progress | None) -> int:
    """One file into place (`final`), resuming its `.part`; returns the bytes done so far."""
    if final.is_file() and final.stat().st_size == size:
        return done + size
    part, have, digest = staged_part(final, size)
    done += have
    with open(src, "rb") as s, open(part, "ab") as d:
        s.seek(have)
        while block := s.read(CHUNK):
            d.write(block)
            digest.update(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
        d.flush()
        os.fsync(d.fileno())
    if digest.hexdigest() != sha256 or part.stat().st_size != size:
        part.unlink(missing_ok=True)
        raise TransferError(f"{src.name}: the copy does not match the ledger's sha256 (the source may be damaged; "
                            "`realm vault verify` checks it); the part was removed, so a retry copies it afresh")
    os.replace(part, final)
    return done


def staged_part(final: Path, size: int) -> tuple[Path, int, "hashlib._Hash"]:
    """(`final`'s .part, the bytes already in it, their running sha256): a part longer than the
    file can be is thrown away, so a transfer goes on only from bytes that may be right."""
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if have > size:
        part.unlink()
        have = 0
    digest = hashlib.sha256()
    if have:
        with open(part, "rb") as f:
            while block := f.read(CHUNK):
                digest.update(block)
    return part, have, digest


def verify_copy(folder: Path, weights_sha256: str | None = None) -> list[str]:
    """Why the copy in `folder` is not sound (every file re-hashed against its own ledger, and its
    weights those the vault knows, when `weights_sha256` is given); an empty list when it is."""
    if not folder.is_dir():
        return [f"{folder} is missing"]
    problems = check_checkpoint(folder, verify_hashes=True)
    if not problems and weights_sha256 and read_ledger(folder).weights_sha256 != weights_sha256:
        problems.append(f"{folder.name}: its weights are not the vault's checkpoint of that name")
    return problems
