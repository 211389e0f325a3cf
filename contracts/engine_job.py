"""The engine job: everything `python -m engine run JOB.json` needs to train DIO once.

The daemon builds an `EngineJob` from realm.yaml and a quest, writes it as JSON and
starts the engine on it. `python -m engine job-template` prints one with every field
at its default. Pure pydantic and the standard library: importing this stays fast.

Relative paths in a job file are resolved against the folder holding the job file
(`load_job` does it), so a job written inside a save slot can say `hero/base`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contracts.lora_targets import LORA_TARGETS

DataSchema = Literal["chat_sft_v1", "completion_v1", "syllo_v1"]
BatchingMode = Literal["auto", "padded", "packed", "padding_free"]
Precision = Literal["auto", "bf16", "fp32"]
Attention = Literal["auto", "sdpa", "flash_attention_2", "eager"]
ProfileName = Literal["none", "emoji_think", "regime3"]
Method = Literal["full", "lora", "qlora"]

JOB_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class DataFile(_Strict):
    """One quest file: JSONL, one example per line."""

    path: str = Field(description="JSONL file; relative paths resolve against the job file's folder")
    schema_: DataSchema = Field(
        "chat_sft_v1",
        alias="schema",
        description="chat_sft_v1 | completion_v1 | syllo_v1 (rendered to chat by skills.syllo.syllo_to_chat)",
    )


class Hyperparameters(_Strict):
    """Optimisation and data settings. Defaults suit nano DIO on the CPU."""

    learning_rate: float = Field(3e-3, gt=0, le=1, description="peak AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0, le=1, description="AdamW decoupled weight decay (matrices only)")
    adam_beta1: float = Field(0.9, ge=0, lt=1)
    adam_beta2: float = Field(0.95, ge=0, lt=1)
    adam_eps: float = Field(1e-8, gt=0)
    warmup_steps: int = Field(20, ge=0, description="linear warmup from 0 to learning_rate")
    schedule: Literal["cosine", "constant", "wsd"] = Field(
        "cosine", description="after warmup: cosine to min_lr_ratio over the job; constant; wsd = constant, then a "
        "linear cool-down to min_lr_ratio over the job's last cooldown_fraction of steps (warmup-stable-decay)")
    cooldown_fraction: float = Field(0.2, ge=0, le=1, description="wsd: share of the job's steps spent cooling down")
    lr_clock: Literal["job", "campaign"] = Field(
        "job",
        description="what the schedule counts: job = this job's steps (warmup and cosine per job); campaign = the "
        "hero's global steps, so the warmup happens once per save and a job that continues another picks the "
        "learning rate up where it was (needs schedule constant or wsd: a campaign has no planned end, a wsd "
        "cool-down ends each job)",
    )
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="cosine floor as a fraction of learning_rate")
    tokens_per_micro_batch: int = Field(
        4096, ge=16, description="token budget of one micro-batch (padded slots count in padded mode)"
    )
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    max_length: int = Field(512, ge=8, description="longest example in tokens; longer ones follow `overlength`")
    overlength: Literal["drop", "truncate"] = Field("drop", description="what to do with examples over max_length")
    grad_clip: float = Field(1.0, ge=0, description="max global grad norm; 0 disables clipping")
    epochs: int = Field(1, ge=1, description="passes over the training split")
    max_steps: int | None = Field(None, ge=1, description="optional cap on optimizer steps of this job")
    seed: int = Field(0, ge=0, description="data order, validation split and initial RNG")
    validation_fraction: float = Field(0.05, ge=0, lt=1, description="held-out share of the examples")
    max_validation_examples: int = Field(256, ge=0, description="cap on the held-out split")
    batching: BatchingMode = Field(
        "auto",
        description="padded: right-padded batches; packed: short packed rows with per-example "
        "position_ids and a block-diagonal mask; padding_free: one flattened row per micro-batch "
        "(flash-attn varlen on CUDA); auto: padding_free with flash_attention_2, packed on the CPU, "
        "else padded",
    )
    packed_row_tokens: int = Field(
        0, ge=0, description="row length of the `packed` mode; 0 = from the data: the smallest power of two "
        "(at least 64, at most tokens_per_micro_batch) that holds 99 % of the job's examples whole")
    length_grouping: int = Field(
        1, ge=0,
        description="how many micro-batches' worth of shuffled examples are grouped by length before they are "
        "cut into micro-batches: 1 = about none, every micro-batch close to a random sample (best learning "
        "when length says something about content, as in BIN); k > 1 = within windows of k (less padding); "
        "0 = the whole epoch (least padding; homogeneous micro-batches)",
    )
    loss_spike_factor: float = Field(3.0, gt=1, description="warn when loss > factor x its moving average")
    masked_ratio_min: float = Field(0.25, ge=0, le=1, description="abort when fewer tokens than this are masked")
    masked_ratio_max: float = Field(0.995, ge=0, le=1, description="abort when more tokens than this are masked")

    @model_validator(mode="after")
    def _band(self) -> "Hyperparameters":
        if self.lr_clock == "campaign" and self.schedule == "cosine":
            raise ValueError(
                "lr_clock campaign needs schedule constant or wsd (got 'cosine'): a campaign has no planned end "
                "for a cosine to reach"
            )
        if self.masked_ratio_min > self.masked_ratio_max:
            raise ValueError(
                f"masked_ratio_min ({self.masked_ratio_min}) must not exceed masked_ratio_max ({self.masked_ratio_max})"
            )
        return self


class QuestMeta(_Strict):
    """Where the training data came from; copied into every checkpoint's ledger."""

    quest_id: str | None = None
    quest_file: str | None = None
    skill: str | None = None
    level: int | None = None


class LoraSettings(_Strict):
    """PEFT LoraConfig fields (method: lora)."""

    rank: int = Field(16, ge=1, le=1024, description="rank r of each adapter")
    alpha: float = Field(32.0, gt=0, description="scale alpha (the update is scaled by alpha / rank)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the adapter's input")
    target_modules: list[str] = Field(default_factory=lambda: list(LORA_TARGETS), min_length=1,
                                      description="Linear layers that get an adapter")


class EngineJob(_Strict):
    """One training run of DIO."""

    job_version: Literal[1] = JOB_VERSION
    job_id: str = Field("", description="free-form id copied into events and ledgers (the daemon's run id)")
    model_dir: str = Field(
        "hero/base", description="weights to start from: a Hugging Face folder (base model or checkpoint) or hub id"
    )
    init_step: int = Field(0, ge=0, description="the hero's global step that model_dir corresponds to (0 for base)")
    resume_from: str | None = Field(
        None,
        description="complete checkpoint whose resume state continues a job exactly; wins over model_dir/init_step",
    )
    continue_from: str | None = Field(
        None,
        description="complete checkpoint of an earlier job whose training state (weights, AdamW moments, RNG, "
        "loss average, global step) this job carries on with its own, new data: the campaign. Wins over "
        "model_dir/init_step; resume_from wins over it",
    )
    data_files: list[DataFile] = Field(default_factory=list)
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    precision: Precision = Field("auto", description="auto = bf16 on CUDA devices that support it, else fp32")
    attention: Attention = Field(
        "auto", description="auto = flash_attention_2 when flash-attn imports on a CUDA GPU of compute "
        "capability 8.0 or newer and the job trains in bf16, else sdpa"
    )
    gradient_checkpointing: bool = False
    method: Method = Field("full", description="full: every weight trains; lora: a PEFT LoRA adapter over the "
                           "frozen model_dir (the base), saved as an adapter folder of a few MB; qlora: the same "
                           "over a 4-bit (NF4) base, on CUDA with bitsandbytes")
    lora: LoraSettings = Field(default_factory=lambda: LoraSettings())
    profile: ProfileName = Field("none", description="data profile: none | emoji_think | regime3")
    save_every_steps: int = Field(200, ge=0, description="checkpoint every N steps; 0 = only on command, stop and end")
    log_every_steps: int = Field(10, ge=1, description="a `step` event every N steps ...")
    log_every_seconds: float = Field(0.0, ge=0, description="... or every S seconds, whichever comes first (0 = off)")
    output_dir: str = Field("checkpoints", description="the save slot's checkpoints folder")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    sharding: Literal["auto", "ddp", "fsdp"] = Field(
        "auto", description="under torchrun: ddp replicates the model on every rank; fsdp shards weights, gradients "
        "and AdamW state across the ranks (FSDP2 fully_shard) for heroes that do not fit one device; auto = fsdp "
        "when one copy of the training state would take over half of a rank's memory. One process: ignored")
    threads: int = Field(0, ge=0, description="CPU threads for torch; 0 = all available cores")
    quest: QuestMeta = Field(default_factory=QuestMeta)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        v = value.strip().lower()
        if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N (got {value!r})")

    def resolved(self, base_dir: str | Path) -> "EngineJob":
        """A copy whose relative paths are made absolute against `base_dir`."""
        base = Path(base_dir)

        def fix(p: str | None, allow_hub_id: bool = False) -> str | None:
            if p is None or p == "":
                return p
            path = Path(p).expanduser()
            if path.is_absolute():
                return str(path)
            candidate = base / path
            if allow_hub_id and not candidate.exists() and _looks_like_hub_id(p):
                return p
            return str(candidate.resolve())

        return self.model_copy(
            update={
                "model_dir": fix(self.model_dir, allow_hub_id=True),
                "resume_from": fix(self.resume_from),
                "continue_from": fix(self.continue_from),
                "output_dir": fix(self.output_dir),
                "data_files": [f.model_copy(update={"path": fix(f.path)}) for f in self.data_files],
            }
        )


def _looks_like_hub_id(value: str) -> bool:
    parts = value.split("/")
    return len(parts) == 2 and all(parts) and not value.startswith((".", "~"))


class JobFileError(ValueError):
    """A job file that cannot be used; the message names the file and the field."""


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: `source: field a.b: message (got value)`."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        got = err.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        hint = " - unknown field; see `python -m engine job-template`" if err.get("type") == "extra_forbidden" else ""
        lines.append(f"{source}: field {loc}: {err.get('msg')}{shown}{hint}")
    return "\n".join(lines)


def parse_job(text: str, source: str = "job") -> EngineJob:
    """Parse job JSON text; errors name the source and every bad field."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobFileError(f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise JobFileError(f"{source}: a job must be a JSON object, got {type(raw).__name__}")
    try:
        return EngineJob.model_validate(raw)
    except ValidationError as exc:
        raise JobFileError(describe_validation_error(exc, source)) from None


def load_job(path: str | Path) -> EngineJob:
    """Read a job file and resolve its relative paths against the file's folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobFileError(f"{p}: cannot read the job file ({exc.strerror}); check the path") from None
    return parse_job(text, str(p)).resolved(p.resolve().parent)


def job_template() -> dict:
    """Every field at its default, as the JSON a job file holds."""
    return EngineJob().model_dump(mode="json")
