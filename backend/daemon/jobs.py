"""Building the engine job for a quest from realm.yaml and the newest checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.config.model import RealmConfig
from backend.hero import base_model_ref
from backend.slot import SaveSlot
from backend.store.quests import Quest
from contracts.checkpoint import CheckpointLedger, has_resume_state, list_complete
from contracts.engine_job import DataFile, EngineJob, Hyperparameters, LoraSettings, QuestMeta

TRAIN_COPY_SUFFIX = ".train.jsonl"


@dataclass(frozen=True)
class StartPoint:
    model_dir: str
    init_step: int
    resume_from: str | None
    continue_from: str | None = None
    avoided: str | None = None  # why the newest checkpoint was passed over (its loss exploded)

    def describe(self) -> str:
        if self.resume_from:
            return f"resuming from {Path(self.resume_from).name}"
        if self.continue_from:
            return f"continuing the campaign from {Path(self.continue_from).name}"
        return f"starting from {Path(self.model_dir).name} (step {self.init_step})"


def job_id_for(quest: Quest) -> str:
    return f"quest-{quest.id}"


EXPLODED_RATIO = 5.0  # a checkpoint whose train loss is this many times the running loss is never built on


def exploded(ledger: CheckpointLedger) -> bool:
    """Its train loss exploded: more than EXPLODED_RATIO times the running loss (the campaign's
    moving average) it was saved with. Measured: a stale sparring set took 0.0008 to 20.1."""
    ema = ledger.resume.loss_ema if ledger.resume is not None else None
    return ledger.train_loss is not None and ema is not None and ema > 0 and ledger.train_loss > EXPLODED_RATIO * ema


def start_point(slot: SaveSlot, config: RealmConfig, quest: Quest, exact_resume: bool = True,
                champion_step: int | None = None) -> StartPoint:
    """Resume this quest's own newest complete checkpoint when there is one (and
    `exact_resume`); otherwise carry the campaign on from the hero's newest complete
    checkpoint (its weights and, under `training.continuity: campaign`, its training state),
    or start from the base model. A newest checkpoint whose loss exploded is never built on:
    the champion (or else the newest sound checkpoint before it) is, and `avoided` says why."""
    complete = sorted(list_complete(slot.checkpoints_dir), key=lambda item: item[1].step)
    avoided = None
    if complete and exploded(complete[-1][1]):
        bad = complete[-1][1]
        sound = [(p, led) for p, led in complete if not exploded(led)]
        champion = [(p, led) for p, led in sound if led.step == champion_step]
        complete = champion or sound
        avoided = (f"checkpoint step {bad.step}: its train loss {bad.train_loss:.3g} is over {EXPLODED_RATIO:g}x the "
                   f"running loss {bad.resume.loss_ema:.3g}")  # type: ignore[union-attr]
    own = [(p, led) for p, led in complete if led.job_id == job_id_for(quest) and has_resume_state(led)]
    if exact_resume and own and avoided is None and own[-1][1].step == complete[-1][1].step:
        return StartPoint(str(own[-1][0]), own[-1][1].step, str(own[-1][0]))
    newest = bad.step if avoided else 0  # steps go on from the newest: XP and checkpoint steps never repeat
    if complete:
        path, ledger = complete[-1]
        carry = config.training.continuity == "campaign" and has_resume_state(ledger)
        return StartPoint(str(path), max(ledger.step, newest), None, str(path) if carry else None, avoided)
    return StartPoint(base_model_ref(slot, config), newest, None, avoided=avoided)


def training_file(slot: SaveSlot, quest: Quest) -> Path:
    """The quest file, or its clean copy when validation quarantined bad lines."""
    path = slot.root / quest.path
    clean = path.with_name(path.name + TRAIN_COPY_SUFFIX)
    return clean if clean.is_file() else path


def hyperparameters(config: RealmConfig) -> Hyperparameters:
    """The engine's settings from realm.yaml. A campaign counts the hero's global steps and runs a
    constant rate after its one warmup; per_quest restarts warmup and schedule every battle."""
    t = config.training
    campaign = t.continuity == "campaign"
    return Hyperparameters(
        learning_rate=t.learning_rate, weight_decay=t.weight_decay, warmup_steps=t.warmup_steps,
        schedule="constant" if campaign and t.schedule == "cosine" else t.schedule,
        lr_clock="campaign" if campaign else "job", cooldown_fraction=t.cooldown_fraction,
        tokens_per_micro_batch=t.tokens_per_micro_batch, grad_accum=t.grad_accum, length_grouping=t.length_grouping,
        max_length=t.max_length,
        overlength=t.overlength, grad_clip=t.grad_clip, epochs=t.epochs,
        max_steps=t.max_steps_per_quest or None, seed=t.seed, validation_fraction=t.validation_fraction,
    )


def build_job(slot: SaveSlot, config: RealmConfig, quest: Quest, start: StartPoint,
              riders: list[Quest] | tuple[Quest, ...] = ()) -> EngineJob:
    """The job of `quest`, with the data of the small quests riding along (see backend.daemon.riders)."""
    t = config.training
    return EngineJob(
        job_id=job_id_for(quest),
        model_dir=start.model_dir,
        init_step=start.init_step,
        resume_from=start.resume_from,
        continue_from=start.continue_from,
        data_files=[DataFile(path=str(training_file(slot, q)), schema=q.schema or "chat_sft_v1")
                    for q in (quest, *riders)],
        hyperparameters=hyperparameters(config),
        precision=t.precision, attention=t.attention, gradient_checkpointing=t.gradient_checkpointing,
        method=t.method, lora=LoraSettings(**t.lora.model_dump()),
        profile=t.profile, save_every_steps=t.save_every, log_every_steps=t.log_every, log_every_seconds=1.0,
        output_dir=str(slot.checkpoints_dir), device=config.hosts.trainer.device, threads=config.hosts.trainer.threads,
        sharding=config.hosts.trainer.sharding,
        quest=QuestMeta(quest_id=str(quest.id), quest_file=quest.name, skill=quest.skill, level=quest.level),
    )


def ledger_facts(ledger: CheckpointLedger) -> dict:
    """Columns of the checkpoints table from a ledger."""
    return {
        "train_loss": ledger.train_loss, "val_loss": ledger.val_loss, "skill": ledger.skill, "level": ledger.level,
        "quest_id": int(ledger.quest_id) if ledger.quest_id and ledger.quest_id.isdigit() else None,
        "profile": ledger.profile.name, "weights_sha256": ledger.weights_sha256,
        "size_bytes": sum(f.size for f in ledger.files.values()),
        "created_at": ledger.saved_at.timestamp(),
        "ledger": ledger.model_dump(mode="json", exclude={"files"}),
    }
