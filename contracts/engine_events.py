"""Events the engine writes on stdout, one JSON object per line, and the control lines it reads.

Every event has `type` and `ts` (unix seconds). The last line of a run is always a
`result`. Parse a line with `parse_event`. Unknown extra fields are ignored when
parsing, so an older daemon can read a newer engine's events.
Pure pydantic and the standard library.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

CONTROL_COMMANDS = ("pause", "resume", "checkpoint", "stop")
"""Lines the engine accepts on stdin (one word per line; case and surrounding spaces ignored)."""

WarningCode = str
"""Known codes: oom_retry, nonfinite_skip, loss_spike, overlength_dropped, overlength_truncated,
no_supervised_tokens, no_validation_split, unknown_control, stale_temp_checkpoint, checkpoint_reused,
invalid_example_skipped."""


def _now() -> float:
    return time.time()


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ts: float = Field(default_factory=_now, description="unix time in seconds")


class StartedEvent(_Event):
    type: Literal["started"] = "started"
    job_id: str = ""
    total_steps: int = Field(description="optimizer steps this job will run (resumed steps included)")
    init_step: int = Field(description="the hero's global step of the starting weights")
    resume_step: int | None = Field(None, description="job step a resumed job continues from, else null")
    start_global_step: int
    examples_train: int
    examples_val: int
    dropped_overlength: int = 0
    truncated_overlength: int = 0
    parameters: int
    trainable_parameters: int
    device: str
    precision: str
    attention: str
    batching: str
    profile: str
    tokens_per_micro_batch: int
    grad_accum: int
    packed_row_tokens: int | None = Field(None, description="packed mode: the row length used (0 in the job "
                                          "means chosen from the data)")
    model_dir: str
    output_dir: str
    continued: bool = Field(False, description="the job carries on the training state of continue_from")
    lr_clock: str = Field("job", description="what the learning-rate schedule counts: job or campaign steps")
    ranks: int = Field(1, description="processes training together (torchrun ranks)")
    sharding: str | None = Field(None, description="more than one rank: ddp (replicated) or fsdp (sharded), and why")


class StepEvent(_Event):
    type: Literal["step"] = "step"
    global_step: int
    job_step: int
    total_steps: int
    loss: float | None = Field(description="mean loss per supervised token of the step (null if not finite)")
    lr: float
    grad_norm: float | None
    tokens_per_s: float = Field(description="non-padding tokens per second over the log interval")
    supervised_tokens_per_s: float
    padding_fraction: float = Field(description="padded slots / all slots over the log interval")
    mfu: float | None = Field(description="model FLOPs utilisation on CUDA with a known peak; null elsewhere")
    flops_per_s: float = Field(description="achieved model FLOP/s (6N + attention + LM head on supervised tokens)")
    peak_memory_mb: float
    eta_s: float
    epoch: float = Field(description="epochs done, fractional")
    tokens_seen: int
    supervised_tokens_seen: int
    cpu_threads: int | None = Field(None, description="torch CPU threads in use (auto adapts to contention)")
    loss_ema: float | None = Field(None, description="moving average of the loss; carried on from job to job "
                                   "in a campaign, so it is the campaign's smoothed loss")


class EvalEvent(_Event):
    type: Literal["eval"] = "eval"
    global_step: int
    job_step: int
    val_loss: float | None
    val_tokens: int


class CheckpointEvent(_Event):
    type: Literal["checkpoint"] = "checkpoint"
    global_step: int
    name: str
    path: str
    reason: Literal["periodic", "command", "stop", "end"]
    train_loss: float | None
    val_loss: float | None
    size_bytes: int
    weights_sha256: str
    reused: bool = Field(False, description="true when this step was already saved and the existing folder is reported")
    save_seconds: float | None = Field(None, description="writing the folder: weights, tokenizer, resume state, "
                                       "fsyncs and the ledger (hashing included)")
    hash_seconds: float | None = Field(None, description="of which the sha256 of every file")


class PausedEvent(_Event):
    type: Literal["paused"] = "paused"
    global_step: int


class ResumedEvent(_Event):
    type: Literal["resumed"] = "resumed"
    global_step: int
    paused_s: float


class WarningEvent(_Event):
    type: Literal["warning"] = "warning"
    code: WarningCode
    message: str
    global_step: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: str = Field(description="bad_job, bad_data, model_load, masking, resume, out_of_memory, internal, ...")
    message: str = Field(description="what went wrong")
    where: str | None = Field(None, description="file, line, field or step it concerns")
    fix: str | None = Field(None, description="how to fix it")


class TrainingResult(BaseModel):
    """The outcome of one job; the `result` event carries these fields."""

    model_config = ConfigDict(extra="ignore")
    success: bool
    global_step: int = Field(description="the hero's global step after this job")
    job_steps: int = Field(0, description="optimizer steps this job ran (resumed steps included)")
    runtime_sec: float
    last_checkpoint_path: str | None = None
    final_loss: float | None = None
    final_val_loss: float | None = None
    stopped: bool = Field(False, description="ended early on `stop` or SIGTERM")
    summary: str = ""
    error_message: str | None = None


class ResultEvent(TrainingResult):
    type: Literal["result"] = "result"
    ts: float = Field(default_factory=_now)

    def to_result(self) -> TrainingResult:
        return TrainingResult.model_validate(self.model_dump(exclude={"type", "ts"}))


Event = Annotated[
    Union[
        StartedEvent,
        StepEvent,
        EvalEvent,
        CheckpointEvent,
        PausedEvent,
        ResumedEvent,
        WarningEvent,
        ErrorEvent,
        ResultEvent,
    ],
    Field(discriminator="type"),
]

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class EventParseError(ValueError):
    """A stdout line that is not a valid engine event."""


def parse_event(line: str | bytes) -> Event:
    """Parse one stdout line of the engine into its event model."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventParseError(f"engine stdout line is not JSON ({exc.msg}): {text[:200]!r}") from None
    try:
        return _EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise EventParseError(
            f"engine stdout line is not a known event ({exc.error_count()} errors): {text[:200]!r}"
        ) from None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def event_to_line(event: BaseModel) -> str:
    """The single-line JSON form the engine writes (no trailing newline); NaN/inf become null."""
    data = _finite(event.model_dump(mode="json"))
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
