"""Where a battle's engine events go: step metrics to their table (batched),
milestones to the event log, checkpoints to the ledger table."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from backend.daemon.context import DaemonContext
from backend.daemon.jobs import ledger_facts
from backend.event_kinds import EventKind
from backend.store.quests import Quest
from contracts.checkpoint import LedgerError, read_ledger
from contracts.engine_events import (
    CheckpointEvent,
    Event,
    PausedEvent,
    ResumedEvent,
    StartedEvent,
    StepEvent,
    WarningEvent,
)

log = logging.getLogger("realm.daemon.battle")
FLUSH_S = 1.0
WARNING_EVERY_S = 60.0


def metric_row(quest_id: int, e: StepEvent) -> dict[str, Any]:
    return {
        "quest_id": quest_id, "ts": e.ts, "step": e.global_step, "job_step": e.job_step, "total_steps": e.total_steps,
        "loss": e.loss, "lr": e.lr, "grad_norm": e.grad_norm, "tokens_per_s": e.tokens_per_s,
        "supervised_tokens_per_s": e.supervised_tokens_per_s, "padding_fraction": e.padding_fraction,
        "mfu": e.mfu, "peak_memory_mb": e.peak_memory_mb, "eta_s": e.eta_s, "loss_ema": e.loss_ema,
    }


class BattleSink:
    def __init__(self, ctx: DaemonContext, quest: Quest, on_checkpoint: Any = None, on_step: Any = None) -> None:
        self.ctx = ctx
        self.quest = quest
        self.pending: list[dict[str, Any]] = []
        self.last_flush = 0.0
        self.warned: dict[str, float] = {}
        self.on_checkpoint = on_checkpoint
        self.on_step = on_step
        self.last_step: StepEvent | None = None

    async def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            await self.step(event)
        elif isinstance(event, CheckpointEvent):
            await self.flush()
            await self.checkpoint(event)
        elif isinstance(event, StartedEvent):
            await self.ctx.store.quests.update(self.quest.id, steps_total=event.total_steps,
                                               steps_done=event.resume_step or 0)
        elif isinstance(event, WarningEvent):
            await self.warning(event)
        elif isinstance(event, PausedEvent):
            await self.ctx.event(EventKind.BATTLE_PAUSED, {"quest_id": self.quest.id, "step": event.global_step})
        elif isinstance(event, ResumedEvent):
            await self.ctx.event(EventKind.BATTLE_RESUMED, {"quest_id": self.quest.id, "step": event.global_step})

    async def step(self, event: StepEvent) -> None:
        self.last_step = event
        self.pending.append(metric_row(self.quest.id, event))
        if time.monotonic() - self.last_flush >= FLUSH_S:
            await self.flush()
        if self.on_step:
            await self.on_step(event)

    async def flush(self) -> None:
        if self.pending:
            rows, self.pending = self.pending, []
            await self.ctx.store.metrics.add_many(rows)
            last = rows[-1]
            await self.ctx.store.quests.update(self.quest.id, steps_done=last["job_step"], steps_total=last["total_steps"])
        self.last_flush = time.monotonic()

    async def checkpoint(self, event: CheckpointEvent) -> None:
        path = Path(event.path)
        try:
            facts = ledger_facts(read_ledger(path))
        except (LedgerError, OSError, ValueError) as exc:
            log.warning("checkpoint %s has no readable ledger: %s", path, exc)
            facts = {"train_loss": event.train_loss, "val_loss": event.val_loss, "weights_sha256": event.weights_sha256,
                     "size_bytes": event.size_bytes, "quest_id": self.quest.id, "skill": self.quest.skill,
                     "level": self.quest.level}
        rel = str(path.relative_to(self.ctx.slot.root)) if self.ctx.slot.root in path.parents else str(path)
        await self.ctx.store.checkpoints.record(event.global_step, event.name, rel, **facts)
        ledger = facts.get("ledger") or {}
        await self.ctx.event(EventKind.CHECKPOINT_SAVED, {
            "step": event.global_step, "name": event.name, "train_loss": event.train_loss, "val_loss": event.val_loss,
            "loss_ema": (ledger.get("resume") or {}).get("loss_ema"),
            "quest_id": self.quest.id, "skill": self.quest.skill, "level": self.quest.level, "reason": event.reason,
            "size_bytes": event.size_bytes, "save_seconds": event.save_seconds, "hash_seconds": event.hash_seconds,
        }, dedupe_key=f"checkpoint:{event.global_step}")
        if self.on_checkpoint:
            await self.on_checkpoint(event)

    async def warning(self, event: WarningEvent) -> None:
        """At most one warning event per code a minute: the log stays readable."""
        now = time.monotonic()
        if now - self.warned.get(event.code, -WARNING_EVERY_S) < WARNING_EVERY_S:
            return
        self.warned[event.code] = now
        await self.ctx.event(EventKind.WARNING, {"source": "engine", "code": event.code, "message": event.message,
                                                 "quest_id": self.quest.id, "step": event.global_step})
