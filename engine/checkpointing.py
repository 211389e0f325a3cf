"""Atomic checkpoint saves and resume-state loading (format: contracts/checkpoint.py).

Save: write everything into `.tmp-checkpoint-...-PID` in the output folder (model, tokenizer,
resume state, then the ledger with every file's sha256 and size), fsync each file and the
folder, rename to the canonical name, fsync the parent. A process killed at any point leaves
either no canonical folder or a complete one.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import torch

from contracts.checkpoint import (
    LEDGER_NAME,
    RESUME_STATE_NAME,
    TEMP_PREFIX,
    CheckpointLedger,
    FileDigest,
    combined_weights_sha256,
    format_checkpoint_name,
    has_resume_state,
    read_ledger,
    sha256_file,
    write_ledger,
)
from contracts.fsutil import fsync_dir


MASTER_WEIGHTS = "master_weights"  # key of the fp32 weights in a bf16 checkpoint's resume state


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_name(output_dir: Path, step: int, now: datetime) -> str:
    """The canonical name for `step` at `now`, moved a minute on while it is taken."""
    when = now
    while True:
        name = format_checkpoint_name(step, when)
        if not (output_dir / name).exists():
            return name
        when += timedelta(minutes=1)


def _digest_files(folder: Path) -> dict[str, FileDigest]:
    out = {}
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.name != LEDGER_NAME:
            out[f.name] = FileDigest(sha256=sha256_file(f), size=f.stat().st_size)
    return out


def save_checkpoint(
    model: torch.nn.Module,
    tokenizer: Any,
    output_dir: Path,
    global_step: int,
    ledger_fields: dict[str, Any],
    resume_state: dict[str, Any] | None,
    timings: dict[str, float] | None = None,
    serving_dtype: torch.dtype | None = None,
    weights: dict[str, torch.Tensor] | None = None,
) -> tuple[Path, CheckpointLedger]:
    """Write a complete checkpoint for `global_step`; returns its folder and ledger.

    `ledger_fields` holds every CheckpointLedger field but name, step, saved_at, files and
    weights_sha256 (computed here); its `resume` must be set iff `resume_state` is given. `timings`
    receives save_seconds and hash_seconds. `serving_dtype` (bf16 training): the weights are stored
    in that dtype for serving; the fp32 master copy then belongs in `resume_state`. `weights`: the full
    state dict to write instead of `model.state_dict()` (a sharded model's, gathered on rank 0)."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    name = _free_name(output_dir, global_step, now)
    tmp = output_dir / f"{TEMP_PREFIX}{name}-{os.getpid()}"
    tmp.mkdir()
    save_weights(model, tmp, serving_dtype, weights)
    tokenizer.save_pretrained(str(tmp))
    if resume_state is not None:
        torch.save(resume_state, tmp / RESUME_STATE_NAME)
    for f in tmp.iterdir():
        if f.is_file():
            _fsync_file(f)
    hashing = time.perf_counter()
    files = _digest_files(tmp)
    timings["hash_seconds"] = time.perf_counter() - hashing
    ledger = CheckpointLedger(
        name=name,
        step=global_step,
        saved_at=now,
        files=files,
        weights_sha256=combined_weights_sha256(files),
        **ledger_fields,
    )
    write_ledger(tmp, ledger)
    final = output_dir / name
    os.rename(tmp, final)
    fsync_dir(output_dir)
    timings["save_seconds"] = time.perf_counter() - started
    return final, ledger


def save_weights(model: torch.nn.Module, folder: Path, dtype: torch.dtype | None,
                 weights: dict[str, torch.Tensor] | None = None) -> None:
    """The model folder (safetensors and config); in `dtype` when given, and its config.json says so
    (transformers writes the dtype of the parameters, fp32 masters here). `weights` replaces the
    model's own state dict (a sharded model's full weights)."""
    if dtype is None:
        model.save_pretrained(str(folder), safe_serialization=True, state_dict=weights)
        return
    converted: dict[int, torch.Tensor] = {}  # by storage: tied weights (embeddings = LM head) stay one tensor
    state = {}
    for k, v in (model.state_dict() if weights is None else weights).items():
        if v.is_floating_point():
            key = v.untyped_storage().data_ptr() + v.storage_offset()
            if key not in converted:
                converted[key] = v.detach().to("cpu", dtype)
            v = converted[key]
        state[k] = v
    model.save_pretrained(str(folder), safe_serialization=True, state_dict=state)
    config = folder / "config.json"
    if config.is_file():
        fields = json.loads(config.read_text(encoding="utf-8"))
        fields["dtype"] = str(dtype).removeprefix("torch.")
        config.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def master_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The fp32 weights a bf16 checkpoint's resume state keeps (its safetensors hold bf16)."""
    state = model.state_dict() if weights is None else weights
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def load_resume_state(checkpoint_dir: Path) -> tuple[CheckpointLedger, dict[str, Any]]:
    """The ledger and the resume tensors (optimizer, scheduler, RNG) of a checkpoint."""
    ledger = read_ledger(checkpoint_dir)
    if not has_resume_state(ledger):
        thinned = ledger.resume is not None and ledger.resume.thinned
        raise ValueError(f"{checkpoint_dir.name} has no resume state" + (" (thinned to its weights)" if thinned else ""))
    state = torch.load(checkpoint_dir / ledger.resume.state_file, map_location="cpu", weights_only=True)
    return ledger, state


