"""Checkpoints of a running job: validation loss, the save itself, and the `checkpoint` event."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from contracts.checkpoint import read_ledger
from contracts.engine_events import CheckpointEvent, EvalEvent
from contracts.fsutil import folder_size
from engine.checkpointing import save_checkpoint
from engine.evaluate import validation_loss

if TYPE_CHECKING:
    from engine.trainer import Trainer


NOT_EVALUATED = object()


class Saver:
    """Saves at most one checkpoint per global step; a second request for the same step
    reports the existing folder (`reused`). Sharded (FSDP2), every rank validates and gathers the
    full state (Trainer.checkpoint), rank 0 writes, and the others `mark_saved`."""

    def __init__(self, last_checkpoint: Path | None, last_saved_step: int | None) -> None:
        self.last_checkpoint = last_checkpoint
        self.last_saved_step = last_saved_step

    def evaluate(self, tr: "Trainer") -> float | None:
        if not tr.s.data.val:
            return None
        val_loss, val_tokens = validation_loss(
            tr.model, tr.s.data.val, tr.s.forward, tr.s.tokenizer.pad_token_id,
            tr.hp.tokens_per_micro_batch, tr.s.device, sharded=tr.fsdp,
        )
        tr.state.last_val_loss = val_loss
        tr.s.events.emit(EvalEvent(global_step=tr.global_step, job_step=tr.state.job_step,
                                   val_loss=val_loss, val_tokens=val_tokens))
        return val_loss

    def saved_already(self, tr: "Trainer") -> bool:
        return self.last_saved_step == tr.global_step and self.last_checkpoint is not None

    def mark_saved(self, tr: "Trainer") -> None:
        """A rank other than 0 of a sharded job: rank 0 wrote this step's checkpoint."""
        self.last_checkpoint = Path(tr.job.output_dir)  # the folder is rank 0's to name
        self.last_saved_step = tr.global_step
        tr.state.interval_loss_sum, tr.state.interval_steps = 0.0, 0

    def save(self, tr: "Trainer", reason: str, val_loss: object = NOT_EVALUATED) -> None:
        if self.saved_already(tr):
            self._emit(tr, self.last_checkpoint, reason, reused=True)  # type: ignore[arg-type]
            return
        if val_loss is NOT_EVALUATED:
            val_loss = self.evaluate(tr)
        q, st = tr.job.quest, tr.state
        fields = dict(
            job_step=st.job_step, init_step=tr.s.init_step, reason=reason, job_id=tr.job.job_id,
            train_loss=st.interval_loss(), val_loss=val_loss, lr=st.last_lr, epoch=tr.epoch_progress,
            tokens_seen=st.tokens_seen, supervised_tokens_seen=st.supervised_tokens_seen,
            quest_id=q.quest_id, quest_file=q.quest_file, skill=q.skill, level=q.level,
            profile=tr.s.profile, precision=tr.s.precision, started_from=tr.s.started_from,
            resume=tr.resume_info(),
        )
        if tr.s.adapter is not None:
            fields.update(method=tr.job.method, base_model=tr.s.base_dir, base_weights_sha256=tr.s.base_sha256)
        timings: dict[str, float] = {}
        model = tr.s.adapter if tr.s.adapter is not None else tr.model
        weights = tr.gathered[0] if tr.gathered is not None else None
        path, _ = save_checkpoint(model, tr.s.tokenizer, Path(tr.job.output_dir), tr.global_step, fields,
                                  tr.resume_state(), timings, serving_dtype=tr.serving_dtype, weights=weights)
        self.last_checkpoint = path
        self.last_saved_step = tr.global_step
        tr.state.interval_loss_sum, tr.state.interval_steps = 0.0, 0
        self._emit(tr, path, reason, reused=False, timings=timings)

    @staticmethod
    def _emit(tr: "Trainer", path: Path, reason: str, reused: bool, timings: dict[str, float] | None = None) -> None:
        ledger = read_ledger(path)
        tr.s.events.emit(CheckpointEvent(
            global_step=ledger.step, name=path.name, path=str(path), reason=reason,  # type: ignore[arg-type]
            train_loss=ledger.train_loss, val_loss=ledger.val_loss, size_bytes=folder_size(path),
            weights_sha256=ledger.weights_sha256, reused=reused,
            save_seconds=round(timings["save_seconds"], 3) if timings else None,
            hash_seconds=round(timings["hash_seconds"], 3) if timings else None,
        ))
