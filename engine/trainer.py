"""The training loop: steps, logging, control commands, evaluation and checkpoints.

One optimizer step = `grad_accum` planned micro-batches; each micro-batch's summed loss is
divided by the supervised-token count of the WHOLE step before backward, so the gradient
is the token-weighted mean over the step however it is split. On CUDA out-of-memory the
step is retried with every micro-batch split in two (a `oom_retry` warning); a non-finite
loss or gradient skips the update (`nonfinite_skip`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from contracts.checkpoint import ProfileInfo, ResumeInfo
from contracts.engine_events import (
    CheckpointEvent,
    EvalEvent,
    PausedEvent,
    ResumedEvent,
    StepEvent,
    TrainingResult,
    WarningEvent,
)
from contracts.engine_job import EngineJob
from engine.batching.collate import Batch, collate
from engine.batching.plan import EpochPlan, MicroBatchPlan, Mode, plan_epoch, split_micro_batch
from engine.checkpointing import folder_size, save_checkpoint
from engine.control import ControlChannel, is_known
from engine.data.dataset import JobData
from engine.evaluate import validation_loss
from engine.events import EventWriter
from engine.forward import ForwardConfig, loss_sum
from engine.metrics import FlopModel, Window, peak_flops, peak_memory_mb
from engine.optim import build_optimizer, build_scheduler
from engine.threads import ThreadGovernor

EMA_ALPHA = 0.05
SPIKE_WARMUP_STEPS = 10
SPIKE_WARNING_GAP = 20


def forward_backward(model: torch.nn.Module, batches: list[Batch], forward: ForwardConfig) -> torch.Tensor:
    """Accumulate the gradient of one optimizer step over its micro-batches; returns the step's mean loss.

    Every micro-batch's summed loss is divided by the supervised tokens of the whole step, so
    the result does not depend on how the step is split into micro-batches."""
    n_sup = sum(b.n_supervised for b in batches)
    total = torch.zeros((), device=batches[0].input_ids.device)
    for b in batches:
        loss = loss_sum(model, b, forward)
        (loss / n_sup).backward()
        total += loss.detach()
    return total / n_sup


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
    extra_warnings: list[WarningEvent] = field(default_factory=list)


class Trainer:
    def __init__(self, setup: Setup) -> None:
        self.s = setup
        self.job = setup.job
        self.hp = setup.job.hyperparameters
        self.model = setup.model
        self.layout = "padded" if setup.mode == "padded" else "packed"
        self.lengths = [len(e) for e in setup.data.train]
        self._plan_cache: EpochPlan | None = None
        self.steps_per_epoch = len(self._plan(0).steps)
        total = self.steps_per_epoch * self.hp.epochs
        self.total_steps = min(total, self.hp.max_steps) if self.hp.max_steps else total
        self.optimizer = build_optimizer(self.model, self.hp, setup.device)
        self.scheduler = build_scheduler(self.optimizer, self.total_steps, self.hp)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.flop_model = FlopModel.for_model(self.model)
        self.peak = peak_flops(setup.device, setup.precision)
        self.state = TrainState()
        self.window = Window()
        self.last_log_time = time.monotonic()
        self.train_seconds = 0.0
        self.steps_this_process = 0
        self.last_spike_step = -SPIKE_WARNING_GAP
        self.last_checkpoint: Path | None = setup.resume_path
        self.last_saved_step: int | None = None
        self.stopped = False
        adaptive = self.job.threads == 0 and setup.device.type == "cpu"
        self.threads = ThreadGovernor(torch.get_num_threads(), adaptive=adaptive)
        if setup.resume_state is not None and setup.resume_info is not None:
            self._restore(setup.resume_info, setup.resume_state)
            self.last_saved_step = self.global_step
        else:
            torch.manual_seed(self.hp.seed)

    # ---- plan and state -------------------------------------------------------------------
    @property
    def global_step(self) -> int:
        return self.s.init_step + self.state.job_step

    def _plan(self, epoch: int) -> EpochPlan:
        if self._plan_cache is None or self._plan_cache.epoch != epoch:
            self._plan_cache = plan_epoch(
                self.lengths, self.s.mode, self.hp.tokens_per_micro_batch, self.hp.grad_accum,
                self.hp.seed, epoch, self.hp.packed_row_tokens,
            )
        return self._plan_cache

    def current_step_plan(self) -> tuple[MicroBatchPlan, ...]:
        return self._plan(self.state.epoch).steps[self.state.step_in_epoch]

    def _advance_cursor(self) -> None:
        self.state.job_step += 1
        self.state.step_in_epoch += 1
        if self.state.step_in_epoch >= self.steps_per_epoch:
            self.state.epoch += 1
            self.state.step_in_epoch = 0

    def _restore(self, info: ResumeInfo, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if self.s.device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.state.job_step = info.job_step
        self.state.epoch = info.epoch
        self.state.step_in_epoch = info.step_in_epoch
        self.state.tokens_seen = info.tokens_seen
        self.state.supervised_tokens_seen = info.supervised_tokens_seen
        self.state.loss_ema = info.loss_ema
        self.state.micro_batch_split = info.micro_batch_split
        self.state.last_loss = state.get("last_loss")

    def _resume_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.s.device.type == "cuda" else None,
            "last_loss": self.state.last_loss,
        }

    def _resume_info(self) -> ResumeInfo:
        return ResumeInfo(
            job_id=self.job.job_id,
            init_step=self.s.init_step,
            job_step=self.state.job_step,
            total_steps=self.total_steps,
            epoch=self.state.epoch,
            step_in_epoch=self.state.step_in_epoch,
            micro_batch_split=self.state.micro_batch_split,
            data_fingerprint=self.s.fingerprint,
            tokens_seen=self.state.tokens_seen,
            supervised_tokens_seen=self.state.supervised_tokens_seen,
            loss_ema=self.state.loss_ema,
        )

    # ---- one optimizer step ---------------------------------------------------------------
    def collate_step(self, step_plan: tuple[MicroBatchPlan, ...]) -> list[Batch]:
        micro = [m for mb in step_plan for m in split_micro_batch(mb, self.state.micro_batch_split)]
        pad = self.s.tokenizer.pad_token_id
        return [collate(m, self.s.data.train, pad, self.layout).to(self.s.device) for m in micro]

    def _forward_backward(self, batches: list[Batch]) -> torch.Tensor:
        return forward_backward(self.model, batches, self.s.forward)

    def _step_with_oom_retry(self, step_plan: tuple[MicroBatchPlan, ...]) -> tuple[torch.Tensor, list[Batch]]:
        while True:
            batches = self.collate_step(step_plan)
            self.optimizer.zero_grad(set_to_none=True)
            try:
                return self._forward_backward(batches), batches
            except torch.OutOfMemoryError:
                if self.s.device.type != "cuda":
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                del batches
                torch.cuda.empty_cache()
                largest = max(len(mb.examples()) for mb in step_plan)
                if self.state.micro_batch_split >= largest:
                    raise
                self.state.micro_batch_split *= 2
                self.s.events.emit(WarningEvent(
                    code="oom_retry", global_step=self.global_step,
                    message=f"CUDA out of memory; retrying the step with micro-batches split "
                            f"{self.state.micro_batch_split} ways",
                    details={"micro_batch_split": self.state.micro_batch_split},
                ))

    def train_step(self) -> None:
        t0 = time.perf_counter()
        step_plan = self.current_step_plan()
        loss_t, batches = self._step_with_oom_retry(step_plan)
        max_norm = self.hp.grad_clip if self.hp.grad_clip > 0 else float("inf")
        grad_norm_t = torch.nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True)
        loss, grad_norm = float(loss_t), float(grad_norm_t)
        self.state.last_lr = self.scheduler.get_last_lr()[0]
        if math.isfinite(loss) and math.isfinite(grad_norm):
            self.optimizer.step()
            self._watch_loss(loss)
        else:
            self.optimizer.zero_grad(set_to_none=True)
            self.state.skipped_steps += 1
            self.s.events.emit(WarningEvent(
                code="nonfinite_skip", global_step=self.global_step + 1,
                message=f"non-finite loss ({loss}) or gradient norm ({grad_norm}); the update was skipped",
            ))
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.last_loss = loss if math.isfinite(loss) else self.state.last_loss
        tokens = sum(b.n_tokens for b in batches)
        supervised = sum(b.n_supervised for b in batches)
        flops = sum(self.flop_model.flops(b.example_lengths, b.n_supervised) for b in batches)
        self.state.tokens_seen += tokens
        self.state.supervised_tokens_seen += supervised
        dt = time.perf_counter() - t0
        self.threads.after_step(flops, dt)
        self.train_seconds += dt
        self.steps_this_process += 1
        self.window.add(tokens, supervised, sum(b.n_slots for b in batches), flops, dt)
        self.window.steps += 1
        self.window.losses.append(loss)
        self.window.last_grad_norm = grad_norm if math.isfinite(grad_norm) else None
        self._advance_cursor()

    def _watch_loss(self, loss: float) -> None:
        ema = self.state.loss_ema
        step = self.state.job_step + 1
        if (
            ema is not None
            and step > SPIKE_WARMUP_STEPS
            and loss > self.hp.loss_spike_factor * ema
            and step - self.last_spike_step >= SPIKE_WARNING_GAP
        ):
            self.last_spike_step = step
            self.s.events.emit(WarningEvent(
                code="loss_spike", global_step=self.global_step + 1,
                message=f"loss {loss:.4f} is over {self.hp.loss_spike_factor}x its moving average {ema:.4f}",
                details={"loss": loss, "moving_average": ema},
            ))
        self.state.loss_ema = loss if ema is None else (1 - EMA_ALPHA) * ema + EMA_ALPHA * loss

    # ---- reporting ------------------------------------------------------------------------
    def _log_due(self) -> bool:
        if self.window.steps == 0:
            return False
        if self.state.job_step % self.job.log_every_steps == 0 or self.state.job_step == self.total_steps:
            return True
        secs = self.job.log_every_seconds
        return bool(secs) and time.monotonic() - self.last_log_time >= secs

    def emit_step(self) -> None:
        w = self.window
        secs = max(w.seconds, 1e-9)
        finite = [x for x in w.losses if math.isfinite(x)]
        per_step = self.train_seconds / max(self.steps_this_process, 1)
        self.s.events.emit(StepEvent(
            global_step=self.global_step,
            job_step=self.state.job_step,
            total_steps=self.total_steps,
            loss=sum(finite) / len(finite) if finite else None,
            lr=self.state.last_lr or 0.0,
            grad_norm=w.last_grad_norm,
            tokens_per_s=w.tokens / secs,
            supervised_tokens_per_s=w.supervised / secs,
            padding_fraction=1 - w.tokens / max(w.slots, 1),
            mfu=(w.flops / secs / self.peak) if self.peak else None,
            flops_per_s=w.flops / secs,
            peak_memory_mb=peak_memory_mb(self.s.device),
            eta_s=per_step * (self.total_steps - self.state.job_step),
            epoch=self.state.epoch + self.state.step_in_epoch / max(self.steps_per_epoch, 1),
            tokens_seen=self.state.tokens_seen,
            supervised_tokens_seen=self.state.supervised_tokens_seen,
            cpu_threads=torch.get_num_threads() if self.s.device.type == "cpu" else None,
        ))
        self.window = Window()
        self.last_log_time = time.monotonic()

    # ---- evaluation and checkpoints ------------------------------------------------------
    def evaluate(self) -> float | None:
        if not self.s.data.val:
            return None
        val_loss, val_tokens = validation_loss(
            self.model, self.s.data.val, self.s.forward, self.s.tokenizer.pad_token_id,
            self.hp.tokens_per_micro_batch, self.s.device,
        )
        self.state.last_val_loss = val_loss
        self.s.events.emit(EvalEvent(global_step=self.global_step, job_step=self.state.job_step,
                                     val_loss=val_loss, val_tokens=val_tokens))
        return val_loss

    def checkpoint(self, reason: str) -> None:
        if self.last_saved_step == self.global_step and self.last_checkpoint is not None:
            self._emit_checkpoint(self.last_checkpoint, reason, reused=True)
            return
        val_loss = self.evaluate()
        q = self.job.quest
        fields = dict(
            job_step=self.state.job_step,
            init_step=self.s.init_step,
            reason=reason,
            job_id=self.job.job_id,
            train_loss=self.state.last_loss,
            val_loss=val_loss,
            lr=self.state.last_lr,
            epoch=self.state.epoch + self.state.step_in_epoch / max(self.steps_per_epoch, 1),
            tokens_seen=self.state.tokens_seen,
            supervised_tokens_seen=self.state.supervised_tokens_seen,
            quest_id=q.quest_id,
            quest_file=q.quest_file,
            skill=q.skill,
            level=q.level,
            profile=self.s.profile,
            precision=self.s.precision,
            started_from=self.s.started_from,
            resume=self._resume_info(),
        )
        path, _ = save_checkpoint(
            self.model, self.s.tokenizer, Path(self.job.output_dir), self.global_step, fields, self._resume_state()
        )
        self.last_checkpoint = path
        self.last_saved_step = self.global_step
        self._emit_checkpoint(path, reason, reused=False)

    def _emit_checkpoint(self, path: Path, reason: str, reused: bool) -> None:
        from contracts.checkpoint import read_ledger

        ledger = read_ledger(path)
        self.s.events.emit(CheckpointEvent(
            global_step=ledger.step, name=path.name, path=str(path), reason=reason,  # type: ignore[arg-type]
            train_loss=ledger.train_loss, val_loss=ledger.val_loss, size_bytes=folder_size(path),
            weights_sha256=ledger.weights_sha256, reused=reused,
        ))

    # ---- control --------------------------------------------------------------------------
    def _handle_commands(self, commands: list[str]) -> None:
        for cmd in commands:
            if cmd == "stop":
                self.stopped = True
            elif cmd == "checkpoint":
                self.checkpoint("command")
            elif cmd == "pause":
                self._pause()
            elif cmd == "resume":
                pass  # not paused: nothing to do
            elif not is_known(cmd):
                self.s.events.emit(WarningEvent(code="unknown_control", global_step=self.global_step,
                                                message=f"unknown control line {cmd!r}; expected pause, resume, "
                                                        "checkpoint or stop"))
            if self.stopped:
                return

    def _pause(self) -> None:
        started = time.monotonic()
        self.s.events.emit(PausedEvent(global_step=self.global_step))
        while True:
            for cmd in self.s.control.wait(0.5):
                if cmd == "resume":
                    self.s.events.emit(ResumedEvent(global_step=self.global_step, paused_s=time.monotonic() - started))
                    self.last_log_time = time.monotonic()
                    return
                if cmd == "stop":
                    self.stopped = True
                    return
                if cmd == "checkpoint":
                    self.checkpoint("command")
                elif not is_known(cmd):
                    self._handle_commands([cmd])

    # ---- the loop -------------------------------------------------------------------------
    def run(self) -> TrainingResult:
        t0 = time.monotonic()
        self.model.train()
        while self.state.job_step < self.total_steps:
            self._handle_commands(self.s.control.poll())
            if self.stopped:
                break
            self.train_step()
            if self._log_due():
                self.emit_step()
            if self.job.save_every_steps and self.state.job_step % self.job.save_every_steps == 0:
                self.checkpoint("periodic")
        if self.window.steps:
            self.emit_step()
        trained_here = self.steps_this_process > 0 or self.last_checkpoint is not None
        if trained_here:
            self.checkpoint("stop" if self.stopped else "end")
        return self._result(time.monotonic() - t0)

    def _result(self, runtime: float) -> TrainingResult:
        st = self.state
        loss = f"{st.last_loss:.4f}" if st.last_loss is not None else "n/a"
        val = f"{st.last_val_loss:.4f}" if st.last_val_loss is not None else "n/a"
        how = "stopped" if self.stopped else "finished"
        summary = (
            f"{how} at job step {st.job_step}/{self.total_steps} (hero step {self.global_step}); "
            f"{self.steps_this_process} steps in this run over {len(self.s.data.train)} training examples "
            f"({self.s.mode}); loss {loss}, val loss {val}"
        )
        if st.skipped_steps:
            summary += f"; {st.skipped_steps} non-finite steps skipped"
        if self.last_checkpoint is None:
            summary += "; no checkpoint (stopped before the first step)"
        return TrainingResult(
            success=True,
            global_step=self.global_step,
            job_steps=st.job_step,
            runtime_sec=runtime,
            last_checkpoint_path=str(self.last_checkpoint) if self.last_checkpoint else None,
            final_loss=st.last_loss,
            final_val_loss=st.last_val_loss,
            stopped=self.stopped,
            summary=summary,
        )
