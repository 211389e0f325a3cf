"""What the training loop works with: the resolved setup and the job's progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contracts.checkpoint import ProfileInfo, ResumeInfo
from contracts.engine_job import EngineJob
from engine.batching.plan import Mode
from engine.control import ControlChannel
from engine.data.dataset import JobData
from engine.events import EventWriter
from engine.forward import ForwardConfig
from engine.validators import LabelGuard


@dataclass
class TrainState:
    """Where the job is; saved in every checkpoint's ledger (`resume`)."""

    job_step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    tokens_seen: int = 0
    supervised_tokens_seen: int = 0
    loss_ema: float | None = None
    micro_batch_split: int = 1
    last_loss: float | None = None
    interval_loss_sum: float = 0.0  # finite step losses since the last save ...
    interval_steps: int = 0  # ... and how many

    def interval_loss(self) -> float | None:
        """Mean loss of the steps since the last save (the last step's when none was finite)."""
        return self.interval_loss_sum / self.interval_steps if self.interval_steps else self.last_loss
    last_val_loss: float | None = None
    last_lr: float | None = None
    skipped_steps: int = 0


@dataclass
class Setup:
    """Everything the loop needs, resolved by the runner."""

    job: EngineJob
    model: torch.nn.Module
    tokenizer: Any
    data: JobData
    mode: Mode
    forward: ForwardConfig
    device: torch.device
    precision: str
    attention: str
    profile: ProfileInfo
    fingerprint: str
    init_step: int
    started_from: str
    events: EventWriter
    control: ControlChannel
    resume_state: dict[str, Any] | None = None
    resume_info: ResumeInfo | None = None
    resume_path: Path | None = None
    carried_state: dict[str, Any] | None = None  # continue_from: the earlier job's tensors (optimizer, RNG)
    carried_info: ResumeInfo | None = None  # ... and where it was (loss average)
    label_guard: LabelGuard | None = None  # the invariant every collated micro-batch is checked against
    adapter: Any = None  # method lora: the PEFT model wrapping `model` (what a checkpoint saves)
    base_dir: str | None = None  # ... the frozen base it adapts
    base_sha256: str | None = None  # ... and that base's weights sha256
    world: Any = None  # engine.distributed.World under torchrun (None: one process)
