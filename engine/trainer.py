"""The training loop: optimizer steps over the epoch plans, logging, control commands, checkpoints.

One optimizer step = `grad_accum` planned micro-batches (engine.step.forward_backward). On CUDA
out-of-memory the step is retried with every micro-batch split in two (`oom_retry` warning), and
the split halves again after SPLIT_RELAX_STEPS good steps; a
non-finite loss or gradient skips the update (`nonfinite_skip`); a loss above `loss_spike_factor`
times this job's moving average for SPIKE_PERSIST steps in a row is reported (`loss_spike`). Control lines are handled between steps.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import torch

from contracts.checkpoint import ResumeInfo
from contracts.engine_events import PausedEvent, ResumedEvent, TrainingResult, WarningEvent
from engine.batching.collate import Batch, collate
from engine.checkpointing import MASTER_WEIGHTS, master_weights
from engine.batching.plan import EpochPlan, MicroBatchPlan, auto_row_tokens, plan_epoch, split_micro_batch
from engine.control import is_known
from engine.distributed import local_share, wrap
from engine.errors import EngineError
from engine.sharding import choose_sharding, full_state, load_optimizer_state, shard
from engine.metrics import FlopModel, Window, peak_flops
from engine.optim import build_optimizer, build_scheduler, carry_optimizer_state
from engine.reporting import final_result, step_event
from engine.rng import rng_state, set_rng
from engine.saving import Saver
from engine.state import Setup, TrainState
from engine.step import forward_backward
from engine.threads import ThreadGovernor

EMA_ALPHA = 0.05
SPLIT_RELAX_STEPS = 50  # good steps after an OOM split before the split is halved again
SPIKE_WARMUP_STEPS = 10
SPIKE_WARNING_GAP = 20
SPIKE_PERSIST = 3  # steps in a row above the bar that make a spike


class Trainer:
    def __init__(self, setup: Setup) -> None:
        self.s = setup
        self.world = setup.world
        self.world_size = setup.world.size if setup.world is not None else 1
        self.job = setup.job
        self.hp = setup.job.hyperparameters
        self.model = setup.model
        self.layout = "padded" if setup.mode == "padded" else "packed"
        self.lengths = [len(e) for e in setup.data.train]
        self._plan_cache: EpochPlan | None = None
        # each epoch's shuffle cuts its own number of micro-batches
        self.epoch_steps = [len(self._plan(e).steps) for e in range(self.hp.epochs)]
        total = sum(self.epoch_steps)
        self.total_steps = min(total, self.hp.max_steps) if self.hp.max_steps else total
        try:
            self.sharding, self.sharding_why = choose_sharding(self.job.sharding, self.world, self.model, setup.device,
                                                               self.job.method)
        except ValueError as exc:
            raise EngineError("bad_job", str(exc), where="sharding") from None
        # FSDP2 shards the weights in place before the optimizer is built over the shards
        self.fsdp = shard(self.model, setup.forward) if self.sharding == "fsdp" else None
        self.gathered: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None  # full state while saving
        self.pending_checkpoint = False  # sharded: a checkpoint asked for while paused waits for every rank
        self.optimizer = build_optimizer(self.model, self.hp, setup.device)
        if setup.carried_state is not None and setup.resume_state is None:
            carry_optimizer_state(self.optimizer, setup.carried_state["optimizer"], self.hp, self._load_optimizer)
        self.scheduler = build_scheduler(self.optimizer, self.total_steps, self.hp, setup.init_step)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.ddp = wrap(self.model, setup.forward, setup.device) if self.sharding == "ddp" else self.fsdp
        self.flop_model = FlopModel.for_model(self.model)
        peak = peak_flops(setup.device, setup.precision)
        self.peak = peak * self.world_size if peak else peak  # MFU of the whole world
        self.state = TrainState()
        self.window = Window()
        self.last_log_time = time.monotonic()
        self.train_seconds = 0.0
        self.steps_this_process = 0
        self.good_steps_at_split = 0
        self.share_counts = True
        self.last_spike_step = -SPIKE_WARNING_GAP
        self.spike_ema: float | None = None  # this process's own moving average of the loss (spikes)
        self.spikes_seen = 0  # losses it has seen
        self.steps_above = 0  # consecutive steps above loss_spike_factor x spike_ema
        self.stopped = False
        self.saver = Saver(setup.resume_path, None)
        adaptive = self.job.threads == 0 and setup.device.type == "cpu"
        self.threads = ThreadGovernor(torch.get_num_threads(), adaptive=adaptive)
        if setup.resume_state is not None and setup.resume_info is not None:
            self._restore(setup.resume_info, setup.resume_state)
            self.saver.last_saved_step = self.global_step
        elif setup.carried_state is not None:
            self._carry_on(setup.carried_info, setup.carried_state)
        else:
            torch.manual_seed(self.hp.seed)

    # ---- plan and state -------------------------------------------------------------------
    @property
    def global_step(self) -> int:
        return self.s.init_step + self.state.job_step

    @property
    def epoch_progress(self) -> float:
        return self.state.epoch + self.state.step_in_epoch / max(self.steps_in_epoch(self.state.epoch), 1)

    def steps_in_epoch(self, epoch: int) -> int:
        return self.epoch_steps[epoch] if epoch < len(self.epoch_steps) else 1  # past the last epoch: done

    def _plan(self, epoch: int) -> EpochPlan:
        if self._plan_cache is None or self._plan_cache.epoch != epoch:
            self._plan_cache = plan_epoch(
                self.lengths, self.s.mode, self.hp.tokens_per_micro_batch, self.hp.grad_accum * self.world_size,
                self.hp.seed, epoch, self.row_tokens, self.hp.length_grouping,
            )
        return self._plan_cache

    @property
    def row_tokens(self) -> int:
        """The packed mode's row length: the job's, or chosen from the data (auto_row_tokens)."""
        return self.hp.packed_row_tokens or auto_row_tokens(self.lengths, self.hp.tokens_per_micro_batch)

    def current_step_plan(self) -> tuple[MicroBatchPlan, ...]:
        return self._plan(self.state.epoch).steps[self.state.step_in_epoch]

    def _advance_cursor(self) -> None:
        self.state.job_step += 1
        self.state.step_in_epoch += 1
        if self.state.step_in_epoch >= self.steps_in_epoch(self.state.epoch):
            self.state.epoch += 1
            self.state.step_in_epoch = 0

    def _load_optimizer(self, state: dict[str, Any]) -> None:
        if self.fsdp is not None:
            load_optimizer_state(self.fsdp, self.optimizer, state)
        else:
            self.optimizer.load_state_dict(state)

    def _restore(self, info: ResumeInfo, state: dict[str, Any]) -> None:
        self._load_optimizer(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        set_rng(state, self.s.device)
        st = self.state
        st.job_step, st.epoch, st.step_in_epoch = info.job_step, info.epoch, info.step_in_epoch
        st.tokens_seen, st.supervised_tokens_seen = info.tokens_seen, info.supervised_tokens_seen
        st.loss_ema, st.micro_batch_split = info.loss_ema, info.micro_batch_split
        st.last_loss = state.get("last_loss")

    def _carry_on(self, info: ResumeInfo | None, state: dict[str, Any]) -> None:
        """continue_from: the RNG and the loss average go on; the data cursor starts afresh."""
        set_rng(state, self.s.device)
        self.state.loss_ema = info.loss_ema if info is not None else None
        self.state.last_loss = state.get("last_loss")

    def resume_state(self) -> dict[str, Any]:
        """The tensors a checkpoint needs to continue this job exactly (resume_state.pt)."""
        weights, optimizer = self.gathered if self.gathered is not None else (None, self.optimizer.state_dict())
        state = {
            "optimizer": optimizer,
            "scheduler": self.scheduler.state_dict(),
            **rng_state(self.s.device),
            "last_loss": self.state.last_loss,
        }
        if self.serving_dtype is not None:
            state[MASTER_WEIGHTS] = master_weights(self.model, weights)
        return state

    @property
    def serving_dtype(self) -> torch.dtype | None:
        """bf16 training of every weight: checkpoints serve bf16 weights, and the fp32 master copy
        lives in the resume state (while the checkpoint keeps one). Adapters stay fp32 (a few MB)."""
        return torch.bfloat16 if self.s.precision == "bf16" and self.s.adapter is None else None

    def resume_info(self) -> ResumeInfo:
        st = self.state
        return ResumeInfo(
            job_id=self.job.job_id, init_step=self.s.init_step, job_step=st.job_step, total_steps=self.total_steps,
            epoch=st.epoch, step_in_epoch=st.step_in_epoch, micro_batch_split=st.micro_batch_split,
            data_fingerprint=self.s.fingerprint, tokens_seen=st.tokens_seen,
            supervised_tokens_seen=st.supervised_tokens_seen, loss_ema=st.loss_ema,
        )

    # ---- one optimizer step ---------------------------------------------------------------
    def collate_step(self, step_plan: tuple[MicroBatchPlan, ...]) -> list[Batch]:
        micro = [m for mb in step_plan for m in split_micro_batch(mb, self.state.micro_batch_split)]
        pad = self.s.tokenizer.pad_token_id
        batches = [collate(m, self.s.data.train, pad, self.layout) for m in micro]
        if self.s.label_guard is not None:
            for n, batch in enumerate(batches):
                self.s.label_guard.check(batch, f"step {self.global_step + 1}, micro-batch {n}")
        return [b.to(self.s.device) for b in batches]

    def _gradient_with_oom_retry(self, step_plan: tuple[MicroBatchPlan, ...]) -> tuple[torch.Tensor, list[Batch]]:
        mine, counts = local_share(step_plan, self.world)
        self.share_counts = counts
        while True:
            batches = self.collate_step(mine)
            self.optimizer.zero_grad(set_to_none=True)
            try:
                loss = forward_backward(self.model, batches, self.s.forward, self.world, self.ddp, counts)
            except torch.OutOfMemoryError:
                if self.world is not None:
                    raise  # one rank alone cannot split its share: every rank would have to
                loss = None  # recovered below: inside `except` the traceback still holds the step's tensors
            if loss is not None:
                self._relax_split()
                return loss, batches
            del batches
            self._recover_from_oom(step_plan)

    def _recover_from_oom(self, step_plan: tuple[MicroBatchPlan, ...]) -> None:
        """Free what the failed step held, then split every micro-batch twice as many ways."""
        self.optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if self.s.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.state.micro_batch_split >= max(len(mb.examples()) for mb in step_plan):
            raise torch.OutOfMemoryError(
                f"out of memory with every micro-batch split down to single examples "
                f"({self.state.micro_batch_split} ways)")
        self.state.micro_batch_split *= 2
        self.good_steps_at_split = 0
        self.s.events.emit(WarningEvent(
            code="oom_retry", global_step=self.global_step,
            message=f"out of memory; retrying the step with micro-batches split "
                    f"{self.state.micro_batch_split} ways",
            details={"micro_batch_split": self.state.micro_batch_split},
        ))

    def _relax_split(self) -> None:
        """After SPLIT_RELAX_STEPS good steps at a split, try half of it again: a spike of memory
        (one long example, the node loading beside us) must not slow the rest of the campaign."""
        if self.state.micro_batch_split <= 1:
            return
        self.good_steps_at_split += 1
        if self.good_steps_at_split >= SPLIT_RELAX_STEPS:
            self.state.micro_batch_split //= 2
            self.good_steps_at_split = 0

    def train_step(self) -> None:
        t0 = time.perf_counter()
        loss_t, batches = self._gradient_with_oom_retry(self.current_step_plan())
        max_norm = self.hp.grad_clip if self.hp.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True))
        loss = float(loss_t)
        self.state.last_lr = self.scheduler.get_last_lr()[0]
        if math.isfinite(loss) and math.isfinite(grad_norm):
            self.optimizer.step()
            self._watch_loss(loss)
            self.state.last_loss = loss
            self.state.interval_loss_sum += loss
            self.state.interval_steps += 1
        else:
            self.state.skipped_steps += 1
            self.s.events.emit(WarningEvent(
                code="nonfinite_skip", global_step=self.global_step + 1,
                message=f"non-finite loss ({loss}) or gradient norm ({grad_norm}); the update was skipped",
            ))
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._account(batches, loss, grad_norm, time.perf_counter() - t0)
        self._advance_cursor()

    def _account(self, batches: list[Batch], loss: float, grad_norm: float, seconds: float) -> None:
        tokens = sum(b.n_tokens for b in batches)
        supervised = sum(b.n_supervised for b in batches)
        flops = sum(self.flop_model.flops(b.example_lengths, b.n_supervised) for b in batches)
        slots = sum(b.n_slots for b in batches)
        if self.world is not None:  # the whole step, every rank's share (a zero-weight share counts nothing)
            mine = torch.tensor([tokens, supervised, flops, slots], dtype=torch.float64) * float(self.share_counts)
            tokens, supervised, flops, slots = (int(x) for x in self.world.all_sum(mine.to(self.s.device)).tolist())
        self.state.tokens_seen += tokens
        self.state.supervised_tokens_seen += supervised
        self.threads.after_step(flops, seconds)
        self.train_seconds += seconds
        self.steps_this_process += 1
        self.window.add(tokens, supervised, slots, flops, seconds)
        self.window.steps += 1
        self.window.losses.append(loss)
        self.window.last_grad_norm = grad_norm if math.isfinite(grad_norm) else None

    def _watch_loss(self, loss: float) -> None:
        """Warn of a spike against this job's own moving average: the campaign's (state.loss_ema,
        carried from quest to quest for the stats) still reads the last quest's data, and a quest
        of another skill starts far above it without anything being wrong."""
        self._watch_spike(loss)
        ema = self.state.loss_ema
        self.state.loss_ema = loss if ema is None else (1 - EMA_ALPHA) * ema + EMA_ALPHA * loss

    def _watch_spike(self, loss: float) -> None:
        ema = self.spike_ema
        self.spikes_seen += 1
        step = self.state.job_step + 1
        above = ema is not None and self.spikes_seen > SPIKE_WARMUP_STEPS and loss > self.hp.loss_spike_factor * ema
        # a quest that mixes skills has steps of very different loss (a few long SY examples in a
        # BIN step): one high step is the mixture, SPIKE_PERSIST in a row is the training going wrong
        self.steps_above = self.steps_above + 1 if above else 0
        if self.steps_above >= SPIKE_PERSIST and step - self.last_spike_step >= SPIKE_WARNING_GAP:
            self.last_spike_step = step
            self.s.events.emit(WarningEvent(
                code="loss_spike", global_step=self.global_step + 1,
                message=f"loss {loss:.4f} is over {self.hp.loss_spike_factor}x its moving average {ema:.4f}",
                details={"loss": loss, "moving_average": ema},
            ))
        if not 0 < self.steps_above < SPIKE_PERSIST:  # a candidate spike does not raise its own bar
            self.spike_ema = loss if ema is None else (1 - EMA_ALPHA) * ema + EMA_ALPHA * loss

    # ---- logging and checkpoints ----------------------------------------------------------
    def _log_due(self) -> bool:
        if self.window.steps == 0:
            return False
        if self.state.job_step % self.job.log_every_steps == 0 or self.state.job_step == self.total_steps:
            return True
        secs = self.job.log_every_seconds
        return bool(secs) and time.monotonic() - self.last_log_time >= secs

    def emit_step(self) -> None:
        self.s.events.emit(step_event(self))
        self.window = Window()
        self.last_log_time = time.monotonic()

    def checkpoint(self, reason: str) -> None:
        main = self.world is None or self.world.main
        if self.fsdp is None:
            if main:  # rank 0 alone writes checkpoints
                self.saver.save(self, reason)
            return
        # sharded: every rank validates and gathers the full state, rank 0 writes it
        if self.saver.saved_already(self):
            if main:
                self.saver.save(self, reason)  # reports the existing folder
            return
        val_loss = self.saver.evaluate(self)
        self.gathered = full_state(self.fsdp, self.optimizer)
        try:
            if main:
                self.saver.save(self, reason, val_loss)
            else:
                self.saver.mark_saved(self)
        finally:
            self.gathered = None

    # ---- control --------------------------------------------------------------------------
    def _handle_commands(self, commands: list[str]) -> None:
        if self.pending_checkpoint:
            commands, self.pending_checkpoint = ["checkpoint", *commands], False
        if self.world is not None:
            commands = self.world.broadcast_commands(commands)  # every rank acts on rank 0's lines
        for cmd in commands:
            if cmd == "stop":
                self.stopped = True
                return
            if cmd == "checkpoint":
                self.checkpoint("command")
            elif cmd == "pause" and (self.world is None or self.world.main):
                self._pause()  # the other ranks wait for rank 0 in the next step's collectives
                if self.stopped:
                    return
            elif not is_known(cmd):
                self._unknown(cmd)
            # `resume` while running: nothing to do

    def _unknown(self, cmd: str) -> None:
        self.s.events.emit(WarningEvent(
            code="unknown_control", global_step=self.global_step,
            message=f"unknown control line {cmd!r}; expected pause, resume, checkpoint or stop",
        ))

    def _pause(self) -> None:
        """Hold between steps until `resume` (or `stop`); `checkpoint` still saves."""
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
                    if self.fsdp is not None:  # the other ranks wait in the next step: saved on resume
                        self.pending_checkpoint = True
                    else:
                        self.checkpoint("command")
                elif not is_known(cmd):
                    self._unknown(cmd)

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
        if self.steps_this_process > 0 or self.saver.last_checkpoint is not None:
            self.checkpoint("stop" if self.stopped else "end")
        if self.world is not None:
            self.world.barrier()  # every rank leaves once rank 0 has saved ...
            self.ddp = self.fsdp = None  # ... and DDP's reducer and FSDP's groups go before the process group
        return final_result(self, time.monotonic() - t0)
