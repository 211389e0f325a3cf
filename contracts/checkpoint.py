"""Checkpoint folders: canonical names, the ledger, and completeness checks.

A checkpoint is a Hugging Face model folder named `checkpoint-{step}-{YYYYMMDD}-{HHMM}`
(UTC time of the save; `step` is the hero's cumulative global step). The engine writes
it under a temporary name (`.tmp-checkpoint-...`), fsyncs and renames it, so a folder
with a canonical name is either complete or was damaged afterwards. Inside it:

- the weights (`*.safetensors`), `config.json`, `generation_config.json`, the tokenizer
  files with the chat template;
- `resume_state.pt` (optimizer, scheduler, RNG; torch format; with bf16 training also the fp32
  master weights) when the job can be resumed. Lean checkpoints: the daemon thins older ones
  to their weights (`thin_checkpoint`); their ledger keeps `resume` with `thinned` set, and
  `has_resume_state` is then False;
- `.ledger.json` (`CheckpointLedger`): stats at save time, the sha256 and size of every
  other file in the folder, and `resume` (job step, data cursor, ...).

Only complete checkpoints are resumed from, evaluated or deployed: use `is_complete`
(cheap: presence and sizes; `verify_hashes=True` re-hashes every file) and
`newest_complete`. Pure pydantic and the standard library.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.fsutil import fsync_dir

LEDGER_NAME = ".ledger.json"
RESUME_STATE_NAME = "resume_state.pt"
TEMP_PREFIX = ".tmp-"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
LEDGER_VERSION = 1

_NAME_RE = re.compile(r"^checkpoint-(\d+)-(\d{8})-(\d{4})$")


class CheckpointName(NamedTuple):
    step: int
    created: datetime  # UTC, minute resolution


def format_checkpoint_name(step: int, when: datetime | None = None) -> str:
    """`checkpoint-{step}-{YYYYMMDD}-{HHMM}` with `when` (default: now) in UTC."""
    if step < 0:
        raise ValueError(f"checkpoint step must be >= 0, got {step}")
    moment = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"checkpoint-{step}-{moment:%Y%m%d}-{moment:%H%M}"


def parse_checkpoint_name(name: str) -> CheckpointName | None:
    """Step and UTC time of a canonical name; None for anything else (temp names included)."""
    m = _NAME_RE.match(name)
    if not m:
        return None
    try:
        created = datetime.strptime(m.group(2) + m.group(3), "%Y%m%d%H%M").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return CheckpointName(int(m.group(1)), created)


class FileDigest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sha256: str
    size: int


class ProfileInfo(BaseModel):
    """The data profile the checkpoint was trained with; what inference needs to match it."""

    model_config = ConfigDict(extra="ignore")
    name: str = "none"
    chat_style: str = "chatml"
    system_prompt: str | None = None
    stop_sequences: list[str] = Field(default_factory=list)
    logit_penalties: dict[str, float] = Field(default_factory=dict)


class ResumeInfo(BaseModel):
    """Where a job was when this checkpoint was saved; the tensors live in `state_file`."""

    model_config = ConfigDict(extra="ignore")
    job_id: str = ""
    init_step: int = Field(description="global step of the weights the job started from")
    job_step: int = Field(description="optimizer steps the job had done")
    total_steps: int
    epoch: int = Field(description="epoch index of the next step")
    step_in_epoch: int = Field(description="index of the next step inside that epoch's plan")
    micro_batch_split: int = Field(1, description="micro-batches are split this many ways (after CUDA OOM)")
    data_fingerprint: str = Field(description="hash of data files and data/batching settings; must match to resume")
    tokens_seen: int = 0
    supervised_tokens_seen: int = 0
    loss_ema: float | None = None
    state_file: str = RESUME_STATE_NAME
    thinned: bool = Field(False, description="the resume state was removed to save disk (lean checkpoints): "
                          "training can carry on from the weights alone, never resume this job exactly")


class CheckpointLedger(BaseModel):
    """`.ledger.json`: stats at save time and the digest of every file in the folder."""

    model_config = ConfigDict(extra="ignore")
    ledger_version: int = LEDGER_VERSION
    name: str
    step: int = Field(description="the hero's global step")
    job_step: int
    init_step: int
    saved_at: datetime
    reason: Literal["periodic", "command", "stop", "end"]
    job_id: str = ""
    train_loss: float | None = Field(None, description="mean loss of the optimizer steps since the previous save "
                                     "of the job (one step's loss is too noisy to compare checkpoints by)")
    val_loss: float | None = None
    lr: float | None = None
    epoch: float | None = None
    tokens_seen: int = 0
    supervised_tokens_seen: int = 0
    quest_id: str | None = None
    quest_file: str | None = None
    skill: str | None = None
    level: int | None = None
    profile: ProfileInfo = Field(default_factory=ProfileInfo)
    precision: str = "fp32"
    started_from: str = Field("", description="model_dir or resume_from the job started with")
    method: Literal["full", "lora", "qlora"] = Field("full", description="lora, qlora: the folder is a PEFT adapter "
                                                    "over a base (qlora: trained over its 4-bit copy)")
    base_model: str | None = Field(None, description="lora: the base model folder (or hub id) it adapts")
    base_weights_sha256: str | None = Field(None, description="lora: weights_sha256 of that base; the node "
                                            "refuses to put the adapter over any other")
    files: dict[str, FileDigest] = Field(description="every file in the folder except the ledger")
    weights_sha256: str = Field(description="sha256 of the weight file, or of the sorted weight digests if sharded")
    resume: ResumeInfo | None = None

    def weight_files(self) -> list[str]:
        return sorted(n for n in self.files if n.endswith(WEIGHT_SUFFIXES))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def combined_weights_sha256(files: dict[str, FileDigest]) -> str:
    """The weight file's own sha256 when there is one; for shards, sha256 of `name sha` lines."""
    weights = sorted((n, d) for n, d in files.items() if n.endswith(WEIGHT_SUFFIXES))
    if not weights:
        return ""
    if len(weights) == 1:
        return weights[0][1].sha256
    text = "".join(f"{n} {d.sha256}\n" for n, d in weights)
    return hashlib.sha256(text.encode()).hexdigest()


def folder_weights_sha256(folder: str | Path) -> str:
    """combined_weights_sha256 of the weight files in `folder`, hashed now ("" when there are none):
    the identity of a base model, which has no ledger."""
    folder = Path(folder)
    digests = {f.name: FileDigest(sha256=sha256_file(f), size=f.stat().st_size)
               for f in sorted(folder.iterdir()) if f.is_file() and f.name.endswith(WEIGHT_SUFFIXES)}
    return combined_weights_sha256(digests)


class LedgerError(ValueError):
    """A ledger that is missing or unreadable."""


def read_ledger(checkpoint_dir: str | Path) -> CheckpointLedger:
    path = Path(checkpoint_dir) / LEDGER_NAME
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LedgerError(f"{path}: no ledger; the checkpoint is incomplete") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise LedgerError(f"{path}: unreadable ledger ({exc})") from None
    try:
        return CheckpointLedger.model_validate(raw)
    except ValidationError as exc:
        raise LedgerError(f"{path}: invalid ledger ({exc.error_count()} problems: {exc.errors()[0]['msg']})") from None


def has_resume_state(ledger: CheckpointLedger) -> bool:
    """The checkpoint keeps its optimizer moments, schedule and RNG (resume_state.pt): a job can
    resume from it exactly, or a campaign carry its training state on."""
    return ledger.resume is not None and not ledger.resume.thinned and ledger.resume.state_file in ledger.files


def write_ledger(checkpoint_dir: str | Path, ledger: CheckpointLedger) -> None:
    """Replace a checkpoint's ledger atomically (a temp file, fsynced, renamed over it)."""
    folder = Path(checkpoint_dir)
    part = folder / (LEDGER_NAME + ".part")
    with open(part, "w", encoding="utf-8") as f:
        f.write(json.dumps(ledger.model_dump(mode="json"), indent=1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, folder / LEDGER_NAME)
    fsync_dir(folder)


def thin_checkpoint(checkpoint_dir: str | Path) -> int:
    """Remove a complete checkpoint's resume state, keeping its weights: bytes freed (0 when it
    had none). The ledger is rewritten first (the state file leaves `files`, `resume.thinned` is
    set), then the file goes, so a crash in between leaves a complete, thinned checkpoint with a
    stray file that the next call removes."""
    folder = Path(checkpoint_dir)
    ledger = read_ledger(folder)
    if ledger.resume is None:
        return 0
    state = folder / ledger.resume.state_file
    if has_resume_state(ledger):
        files = {n: d for n, d in ledger.files.items() if n != ledger.resume.state_file}
        resume = ledger.resume.model_copy(update={"thinned": True})
        write_ledger(folder, ledger.model_copy(update={"files": files, "resume": resume}))
    freed = state.stat().st_size if state.is_file() else 0
    state.unlink(missing_ok=True)
    return freed


def serving_files(ledger: CheckpointLedger) -> set[str]:
    """The files a node needs to serve the checkpoint: all but the resume state (optimizer
    moments, twice the weights' size), which only training continues from."""
    skip = {ledger.resume.state_file} if ledger.resume is not None else set()
    return set(ledger.files) - skip


def check_checkpoint(path: str | Path, *, verify_hashes: bool = False, serving: bool = False) -> list[str]:
    """Why `path` is not a complete checkpoint; an empty list means it is complete. `serving`: a
    copy for inference may lack its resume state (uploads to a node leave it out)."""
    p = Path(path)
    if not p.is_dir():
        return [f"{p}: not a folder"]
    if parse_checkpoint_name(p.name) is None:
        return [f"{p.name}: not a canonical checkpoint name (checkpoint-STEP-YYYYMMDD-HHMM)"]
    try:
        ledger = read_ledger(p)
    except LedgerError as exc:
        return [str(exc)]
    problems: list[str] = []
    if ledger.name != p.name:
        problems.append(f"{p.name}: ledger names {ledger.name!r}")
    if parse_checkpoint_name(p.name).step != ledger.step:  # type: ignore[union-attr]
        problems.append(f"{p.name}: ledger step {ledger.step} differs from the name")
    if not ledger.weight_files():
        problems.append(f"{p.name}: ledger lists no weight file")
    needed = serving_files(ledger) if serving else set(ledger.files)
    for fname, digest in ledger.files.items():
        fp = p / fname
        if not fp.is_file():
            if fname in needed:
                problems.append(f"{p.name}/{fname}: missing")
            continue
        size = fp.stat().st_size
        if size != digest.size:
            problems.append(f"{p.name}/{fname}: {size} bytes, ledger says {digest.size}")
        elif verify_hashes and sha256_file(fp) != digest.sha256:
            problems.append(f"{p.name}/{fname}: sha256 differs from the ledger")
    if ledger.resume is not None and not ledger.resume.thinned and ledger.resume.state_file not in ledger.files:
        problems.append(f"{p.name}: resume state file {ledger.resume.state_file} not in the ledger")
    return problems


def is_complete(path: str | Path, *, verify_hashes: bool = False) -> bool:
    """Canonical name, parseable ledger, every listed file present with its size (and sha256 if asked)."""
    return not check_checkpoint(path, verify_hashes=verify_hashes)


def list_complete(
    checkpoints_dir: str | Path, *, verify_hashes: bool = False, resumable: bool = False
) -> list[tuple[Path, CheckpointLedger]]:
    """Complete checkpoints in a folder, oldest first (by save time, then step)."""
    d = Path(checkpoints_dir)
    if not d.is_dir():
        return []
    found = []
    for child in d.iterdir():
        if parse_checkpoint_name(child.name) is None or not is_complete(child, verify_hashes=verify_hashes):
            continue
        ledger = read_ledger(child)
        if resumable and not has_resume_state(ledger):
            continue
        found.append((child, ledger))
    found.sort(key=lambda item: (item[1].saved_at, item[1].step, item[0].name))
    return found


def newest_complete(
    checkpoints_dir: str | Path, *, verify_hashes: bool = False, resumable: bool = False
) -> Path | None:
    """The most recently saved complete checkpoint (ties: higher step), or None."""
    found = list_complete(checkpoints_dir, verify_hashes=verify_hashes, resumable=resumable)
    return found[-1][0] if found else None


def stale_temp_folders(output_dir: Path) -> list[Path]:
    """Temp folders of saves that never finished (their process died). A `.tmp-*.transfer` folder
    is an interrupted copy from another zone (backend.vault.transfer): the next try goes on from it."""
    if not output_dir.is_dir():
        return []
    return sorted(p for p in output_dir.iterdir()
                  if p.is_dir() and p.name.startswith(TEMP_PREFIX) and not p.name.endswith(".transfer"))
