"""Run one job end to end: resolve settings, load, build data, validate masks, train, report.

Every failure becomes an `error` event (code, what, where, fix) followed by a failed
`result`; the `result` event is always the last line.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

import torch

from contracts.checkpoint import ProfileInfo, check_checkpoint, read_ledger, stale_temp_folders
from contracts.engine_events import ErrorEvent, ResultEvent, StartedEvent, TrainingResult, WarningEvent
from contracts.engine_job import EngineJob
from engine.batching.plan import resolve_batching
from engine.chat import detect_style, response_template_ids
from engine.chat_templates import CHATML_TEMPLATE
from engine.checkpointing import MASTER_WEIGHTS, load_resume_state
from engine.control import ControlChannel
from engine.data.dataset import build_job_data, data_fingerprint
from engine.distributed import close_world, init_world, launched_world, rank_device
from engine.errors import EngineError
from engine.events import EventWriter
from engine.forward import ForwardConfig
from engine.loading import (
    count_parameters,
    load_model,
    load_tokenizer,
    quiet_transformers,
    resolve_attention,
    resolve_device,
    resolve_precision,
    set_threads,
)
from engine.lora import attach_adapter, base_sha256, is_adapter, load_quantized_base
from engine.profiles import get_profile
from engine.state import Setup
from engine.trainer import Trainer
from engine.validators import LabelGuard, MaskingContext, validate_batches

VALIDATE_MICRO_BATCHES = 4


def _training_state(value: str, field: str, what: str):
    """(path, ledger, state) of the complete checkpoint named by a job field (resume_from or
    continue_from); a clear EngineError (code `resume` or `continue`) when it cannot be used."""
    code = "resume" if field == "resume_from" else "continue"
    path = Path(value)
    problems = check_checkpoint(path, verify_hashes=True)
    if problems:
        raise EngineError(code, f"{field} is not a complete checkpoint: " + "; ".join(problems[:3]),
                          where=field, fix="pick a complete one (contracts.checkpoint.newest_complete)")
    try:
        ledger, state = load_resume_state(path)
    except ValueError as exc:
        thinned = " (it was thinned to its weights to save disk)" if "thinned" in str(exc) else ""
        raise EngineError(code, f"{path.name} has no {what}{thinned}", where=field,
                          fix=f'start from its weights alone: model_dir="{path}" and init_step set to its step') from None
    return path, ledger, state


def _resume_source(job: EngineJob):
    """(path, ledger, state) of resume_from, or None."""
    return _training_state(job.resume_from, "resume_from", "resume state") if job.resume_from else None


def _carried_source(job: EngineJob):
    """(path, ledger, state) of continue_from, or None (resume_from wins over it)."""
    if job.resume_from or not job.continue_from:
        return None
    return _training_state(job.continue_from, "continue_from", "training state to carry on")


def _masking_context(tokenizer, model, hp) -> MaskingContext:
    im_start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    unk = getattr(tokenizer, "unk_token_id", None)
    pad = tokenizer.pad_token_id
    return MaskingContext(
        vocab_size=model.get_output_embeddings().weight.shape[0],
        pad_id=-1 if pad == tokenizer.eos_token_id else pad,
        im_start_id=None if im_start in (None, unk) else im_start,
        response_template=tuple(response_template_ids(tokenizer)),
        masked_ratio_min=hp.masked_ratio_min,
        masked_ratio_max=hp.masked_ratio_max,
    )


def build_setup(job: EngineJob, events: EventWriter, control: ControlChannel) -> Setup:
    hp = job.hyperparameters
    set_threads(job.threads)
    world = launched_world()
    device = rank_device(resolve_device(job.device), world)
    if world is not None:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        init_world(device)
    precision = resolve_precision(job.precision, device)
    attention = resolve_attention(job.attention, device, precision)
    try:
        mode = resolve_batching(hp.batching, attention, device.type)
    except ValueError as exc:
        raise EngineError("bad_job", str(exc), where="hyperparameters.batching") from None
    resume = _resume_source(job)
    carried = _carried_source(job)
    model_dir = str(resume[0]) if resume else str(carried[0]) if carried else job.model_dir
    # carried on: the campaign's step goes on from the carried checkpoint, or from job.init_step when later
    init_step = resume[1].resume.init_step if resume else max(carried[1].step, job.init_step) if carried else job.init_step
    if job.method in ("lora", "qlora"):
        model, tokenizer, adapter, base_dir, base_sha = _lora_model(job, model_dir, device, attention, precision)
    else:
        if is_adapter(model_dir):
            raise EngineError("bad_job", f"{Path(model_dir).name} is a LoRA adapter; a full job cannot train it",
                              where="method", fix="set method to lora (training.method: lora in realm.yaml)")
        adapter, base_dir, base_sha = None, None, None
        tokenizer = load_tokenizer(model_dir)
        model = load_model(model_dir, device, attention, torch.float32, job.gradient_checkpointing)
        restore_master_weights(model, (resume or carried or (None, None, {}))[2])
    profile = get_profile(job.profile)
    style = profile.chat_style or detect_style(tokenizer)
    if style == "chatml" and detect_style(tokenizer) != "chatml":
        # trained with clean ChatML (emoji_think, regime3) over a Qwen3 tokenizer: checkpoints carry
        # that template, so vLLM, llama.cpp or transformers render them as training did
        tokenizer.chat_template = CHATML_TEMPLATE
    data = build_job_data(job, tokenizer, profile, style)
    fingerprint = data_fingerprint(job, mode, extra={"vocab": len(tokenizer), "style": style},
                                   world_size=world.size if world is not None else 1)
    if resume and resume[1].resume.data_fingerprint != fingerprint:
        raise EngineError(
            "resume", "resume_from was saved by a job with different data or data/batching settings, so its "
            "data cursor means nothing here", where="resume_from",
            fix=f'to carry its training state on with this data afresh, use continue_from="{resume[0]}" '
                "instead of resume_from",
        )
    forward = ForwardConfig.for_model(
        model, attention, job.gradient_checkpointing, torch.bfloat16 if precision == "bf16" else None
    )
    info = profile.describe()
    info["chat_style"] = style
    return Setup(
        job=job, model=model, tokenizer=tokenizer, data=data, mode=mode, forward=forward, device=device,
        precision=precision, attention=attention, profile=ProfileInfo(**info), fingerprint=fingerprint,
        init_step=init_step, started_from=model_dir, events=events,
        control=control, resume_state=resume[2] if resume else None,
        resume_info=resume[1].resume if resume else None, resume_path=resume[0] if resume else None,
        carried_state=carried[2] if carried else None, carried_info=carried[1].resume if carried else None,
        label_guard=LabelGuard.for_tokenizer(tokenizer, model.get_output_embeddings().weight.shape[0]),
        adapter=adapter, base_dir=base_dir, base_sha256=base_sha, world=world,
    )


def restore_master_weights(model: torch.nn.Module, state: dict) -> None:
    """A bf16 checkpoint serves bf16 weights; its resume state holds the fp32 master copy that
    training goes on from (a thinned one has none: training goes on from the bf16 weights)."""
    master = state.get(MASTER_WEIGHTS)
    if master:
        with torch.no_grad():
            model.load_state_dict(master)


def _lora_model(job: EngineJob, start_dir: str, device: torch.device, attention: str, precision: str):
    """(model to train, tokenizer, PEFT model, base folder, base sha256) of a LoRA job. `start_dir`
    is the checkpoint it resumes or continues, or model_dir: the base, or an adapter checkpoint
    (whose ledger names its base). The frozen base is held in bf16 when training runs in bf16 (it
    gets no gradient and no optimizer state: no fp32 master copy is needed); PEFT keeps the
    adapters in fp32."""
    adapter_dir = Path(start_dir) if is_adapter(start_dir) else None
    base_dir = job.model_dir
    if adapter_dir is not None and adapter_dir == Path(job.model_dir):
        base_dir = read_ledger(adapter_dir).base_model or ""
        if not base_dir:
            raise EngineError("bad_job", f"{adapter_dir.name}'s ledger names no base model", where="model_dir",
                              fix="set model_dir to the base and continue_from to the adapter checkpoint")
    base_sha = base_sha256(base_dir) if Path(base_dir).is_dir() else ""
    tokenizer = load_tokenizer(adapter_dir or base_dir)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    if job.method == "qlora":
        base = load_quantized_base(base_dir, device, attention, precision, job.gradient_checkpointing)
    else:
        base = load_model(base_dir, device, attention, dtype, job.gradient_checkpointing)
    adapter = attach_adapter(base, job.lora, adapter_dir, base_dir, base_sha)
    return adapter.get_base_model(), tokenizer, adapter, str(base_dir), base_sha


def _startup_warnings(setup: Setup) -> None:
    st = setup.data.stats
    ev = setup.events
    if st.dropped_overlength:
        ev.emit(WarningEvent(code="overlength_dropped", message=f"{st.dropped_overlength} examples longer than "
                             f"max_length={setup.job.hyperparameters.max_length} were dropped",
                             details={"count": st.dropped_overlength}))
    if st.truncated_overlength:
        ev.emit(WarningEvent(code="overlength_truncated", message=f"{st.truncated_overlength} examples were "
                             "truncated to max_length", details={"count": st.truncated_overlength}))
    if st.dropped_unsupervised:
        ev.emit(WarningEvent(code="no_supervised_tokens", message=f"{st.dropped_unsupervised} examples had no "
                             "trained token and were dropped", details={"count": st.dropped_unsupervised}))
    if not setup.data.val:
        ev.emit(WarningEvent(code="no_validation_split", message="no held-out examples; val_loss will be null "
                             "(raise validation_fraction or add examples)"))
    for p in stale_temp_folders(Path(setup.job.output_dir)):
        ev.emit(WarningEvent(code="stale_temp_checkpoint", message=f"{p.name} is an unfinished save from a "
                             "process that died; it is never resumed from and may be deleted",
                             details={"path": str(p)}))


def _started_event(setup: Setup, trainer: Trainer) -> StartedEvent:
    total, trainable = count_parameters(setup.model)
    hp = setup.job.hyperparameters
    return StartedEvent(
        job_id=setup.job.job_id, total_steps=trainer.total_steps, init_step=setup.init_step,
        resume_step=setup.resume_info.job_step if setup.resume_info else None,
        start_global_step=trainer.global_step, examples_train=len(setup.data.train),
        examples_val=len(setup.data.val), dropped_overlength=setup.data.stats.dropped_overlength,
        truncated_overlength=setup.data.stats.truncated_overlength, parameters=total,
        trainable_parameters=trainable, device=str(setup.device), precision=setup.precision,
        attention=setup.attention, batching=setup.mode, profile=setup.profile.name,
        tokens_per_micro_batch=hp.tokens_per_micro_batch, grad_accum=hp.grad_accum,
        packed_row_tokens=trainer.row_tokens if setup.mode == "packed" else None,
        model_dir=setup.started_from, output_dir=setup.job.output_dir,
        continued=setup.carried_state is not None and setup.resume_state is None, lr_clock=hp.lr_clock,
        ranks=trainer.world_size,
        sharding=f"{trainer.sharding}: {trainer.sharding_why}" if trainer.sharding else None,
    )


def validate_first_batches(setup: Setup, trainer: Trainer) -> None:
    if trainer.state.job_step >= trainer.total_steps:
        return
    batches = trainer.collate_step(trainer.current_step_plan())[:VALIDATE_MICRO_BATCHES]
    ctx = _masking_context(setup.tokenizer, setup.model, setup.job.hyperparameters)
    validate_batches(batches, setup.data.train, ctx)


def run_job(job: EngineJob, events: EventWriter, control: ControlChannel) -> TrainingResult:
    """Train `job`; emits every event but the final `result`, which the caller writes."""
    t0 = time.monotonic()
    quiet_transformers()
    trainer: Trainer | None = None
    try:
        setup = build_setup(job, events, control)
        trainer = Trainer(setup)
        _startup_warnings(setup)
        validate_first_batches(setup, trainer)
        events.emit(_started_event(setup, trainer))
        return trainer.run()
    except EngineError as exc:
        events.emit(ErrorEvent(code=exc.code, message=exc.message, where=exc.where, fix=exc.fix))
        return _failed(t0, job, trainer, exc.render())
    except torch.OutOfMemoryError as exc:
        events.emit(ErrorEvent(code="out_of_memory", message=f"out of memory even with split micro-batches: {exc}",
                               fix="lower hyperparameters.tokens_per_micro_batch or max_length, or enable "
                                   "gradient_checkpointing"))
        return _failed(t0, job, trainer, f"out of memory: {exc}")
    except Exception as exc:  # a bug or an environment problem: say so, keep the traceback in the log
        traceback.print_exc(file=sys.stderr)
        events.emit(ErrorEvent(code="internal", message=f"{type(exc).__name__}: {exc}",
                               fix="see the engine's stderr log for the traceback"))
        return _failed(t0, job, trainer, f"{type(exc).__name__}: {exc}")
    finally:
        close_world()


def _failed(t0: float, job: EngineJob, trainer: Trainer | None, message: str) -> TrainingResult:
    """A failed result that still says how far training got and which checkpoint is the last good one."""
    return TrainingResult(
        success=False,
        global_step=trainer.global_step if trainer else job.init_step,
        job_steps=trainer.state.job_step if trainer else 0,
        runtime_sec=time.monotonic() - t0,
        last_checkpoint_path=str(trainer.saver.last_checkpoint) if trainer and trainer.saver.last_checkpoint else None,
        final_loss=trainer.state.last_loss if trainer else None,
        summary="training failed",
        error_message=message,
    )


def result_event(result: TrainingResult) -> ResultEvent:
    return ResultEvent(**result.model_dump())
