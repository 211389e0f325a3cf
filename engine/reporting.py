"""Step events and the final result, built from the loop's counters."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from contracts.engine_events import StepEvent, TrainingResult
from engine.metrics import peak_memory_mb

if TYPE_CHECKING:
    from engine.trainer import Trainer


def step_event(tr: "Trainer") -> StepEvent:
    """The `step` event for the log interval that just ended (the trainer's window)."""
    w, st = tr.window, tr.state
    secs = max(w.seconds, 1e-9)
    finite = [x for x in w.losses if math.isfinite(x)]
    per_step = tr.train_seconds / max(tr.steps_this_process, 1)
    cpu = tr.s.device.type == "cpu"
    return StepEvent(
        global_step=tr.global_step,
        job_step=st.job_step,
        total_steps=tr.total_steps,
        loss=sum(finite) / len(finite) if finite else None,
        lr=st.last_lr or 0.0,
        grad_norm=w.last_grad_norm,
        tokens_per_s=w.tokens / secs,
        supervised_tokens_per_s=w.supervised / secs,
        padding_fraction=1 - w.tokens / max(w.slots, 1),
        mfu=(w.flops / secs / tr.peak) if tr.peak else None,
        flops_per_s=w.flops / secs,
        peak_memory_mb=peak_memory_mb(tr.s.device),
        eta_s=per_step * (tr.total_steps - st.job_step),
        epoch=tr.epoch_progress,
        tokens_seen=st.tokens_seen,
        supervised_tokens_seen=st.supervised_tokens_seen,
        cpu_threads=torch.get_num_threads() if cpu else None,
        loss_ema=st.loss_ema,
    )


def final_result(tr: "Trainer", runtime: float) -> TrainingResult:
    st = tr.state
    loss = f"{st.last_loss:.4f}" if st.last_loss is not None else "n/a"
    val = f"{st.last_val_loss:.4f}" if st.last_val_loss is not None else "n/a"
    how = "stopped" if tr.stopped else "finished"
    summary = (
        f"{how} at job step {st.job_step}/{tr.total_steps} (hero step {tr.global_step}); "
        f"{tr.steps_this_process} steps in this run over {len(tr.s.data.train)} training examples "
        f"({tr.s.mode}); loss {loss}, val loss {val}"
    )
    if st.skipped_steps:
        summary += f"; {st.skipped_steps} non-finite steps skipped"
    if tr.saver.last_checkpoint is None:
        summary += "; no checkpoint (stopped before the first step)"
    return TrainingResult(
        success=True,
        global_step=tr.global_step,
        job_steps=st.job_step,
        runtime_sec=runtime,
        last_checkpoint_path=str(tr.saver.last_checkpoint) if tr.saver.last_checkpoint else None,
        final_loss=st.last_loss,
        final_val_loss=st.last_val_loss,
        stopped=tr.stopped,
        summary=summary,
    )
