"""Memory admission: will this hero, with these settings, fit where it is about to train?

Before a battle starts (and in `realm doctor`), the trainer's peak is estimated with the VRAM
calculator's model (backend.vram: weights, gradients, AdamW state, the micro-batch's
activations, one loss chunk of logits), and the local node's pool is added when it shares
the memory (always on the CPU; on CUDA when it sits on the trainer's GPU). That is compared
with what is free now: RAM on the CPU (psutil), the GPU's free memory on CUDA (NVML). When it
does not fit, the battle does not start, and the player is told by how much and what would
make it fit.

The shape comes from the hero's config.json; a hub id not yet downloaded has no shape here,
and is admitted unchecked (the message says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backend.config.model import RealmConfig
from backend.errors import UserFacingError
from backend.fmt import fmt_bytes
from backend.gpus import local_node_device, trainer_gpu_index, visible_gpu_count
from backend.hero import base_model_ref
from backend.slot import SaveSlot
from backend.vram import GIB, ModelShape, VramEstimate, estimate

CPU_PROCESS_BYTES = 2 * GIB // 5  # python, torch, transformers and the engine imported: 0.34 GB measured, plus data
CUDA_CONTEXT_BYTES = GIB  # CUDA context and allocator slack


def shape_of(model_dir: Path) -> ModelShape | None:
    """The decoder shape in a Hugging Face config.json (None when there is none)."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        heads = int(cfg["num_attention_heads"])
        return ModelShape(
            hidden=int(cfg["hidden_size"]), layers=int(cfg["num_hidden_layers"]), heads=heads,
            kv_heads=int(cfg.get("num_key_value_heads") or heads),
            head_dim=int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads),
            intermediate=int(cfg["intermediate_size"]), vocab=int(cfg["vocab_size"]),
            tied_embeddings=bool(cfg.get("tie_word_embeddings", True)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def trainer_precision(config: RealmConfig, device_kind: str) -> str:
    """The calculator's precision for how the engine trains: fp32 master weights always, bf16
    autocast on CUDA unless fp32 is asked for."""
    if device_kind == "cuda" and config.training.precision != "fp32":
        return "bf16-mixed"
    return "fp32"


def trainer_estimate(shape: ModelShape, config: RealmConfig, device_kind: str,
                     tokens_per_micro_batch: int | None = None, gradient_checkpointing: bool | None = None,
                     method: str | None = None) -> VramEstimate:
    t = config.training
    return estimate(
        shape, method=method or t.method, lora_rank=t.lora.rank,  # type: ignore[arg-type]
        precision=trainer_precision(config, device_kind),  # type: ignore[arg-type]
        tokens_per_micro_batch=tokens_per_micro_batch or t.tokens_per_micro_batch,
        sequence_length=t.max_length,
        gradient_checkpointing=t.gradient_checkpointing if gradient_checkpointing is None else gradient_checkpointing,
        attention="eager" if t.attention == "eager" else "flash",
    )


def node_pool_bytes(shape: ModelShape, config: RealmConfig, device_kind: str, pool: int | None = None) -> int:
    """The local node when its pool is full: its process (or CUDA context) and the weights of
    `pool` models (fp32 on the CPU, bf16 on CUDA)."""
    per_model = shape.parameters() * (2 if device_kind == "cuda" else 4)
    base = CUDA_CONTEXT_BYTES if device_kind == "cuda" else CPU_PROCESS_BYTES
    return base + (pool or config.hosts.inference.pool) * per_model


@dataclass(frozen=True)
class Admission:
    ok: bool
    needed: int  # bytes the battle would need, the node's pool included when it shares them
    free: int | None  # bytes free now (None: unknown)
    where: str  # "RAM" or "GPU 0 (NVIDIA ...)"
    detail: str
    fixes: tuple[str, ...] = field(default_factory=tuple)

    def message(self) -> str:
        if self.ok:
            return self.detail
        return self.detail + "; to make it fit: " + "; ".join(self.fixes)


def admit(shape: ModelShape | None, config: RealmConfig, device_kind: str, free: int | None, where: str,
          node_shares: bool) -> Admission:
    """Does a battle fit in `free` bytes of `where`? With the fixes that would make it fit."""
    if shape is None:
        return Admission(True, 0, free, where, "the hero's shape is unknown here (no config.json on disk): "
                                               "memory not checked")
    base = CPU_PROCESS_BYTES if device_kind == "cpu" else CUDA_CONTEXT_BYTES
    est = trainer_estimate(shape, config, device_kind)
    node = node_pool_bytes(shape, config, device_kind) if node_shares else 0
    needed = est.total + base + node
    parts = (f"trainer {fmt_bytes(est.total + base)} (weights {fmt_bytes(est.weights)}, gradients "
             f"{fmt_bytes(est.gradients)}, AdamW {fmt_bytes(est.optimizer)}, activations {fmt_bytes(est.activations)})"
             + (f" + the local node's pool {fmt_bytes(node)}" if node else ""))
    if free is None:
        return Admission(True, needed, None, where, f"needs about {fmt_bytes(needed)}: {parts}; free {where} "
                                                    "unknown here, not checked")
    if needed <= free:
        return Admission(True, needed, free, where, f"needs about {fmt_bytes(needed)} of {fmt_bytes(free)} free {where}")
    short = needed - free
    return Admission(False, needed, free, where,
                     f"this battle needs about {fmt_bytes(needed)} of {where} and {fmt_bytes(free)} is free "
                     f"(short by {fmt_bytes(short)}): {parts}", fixes(shape, config, device_kind, free, base, node_shares))


def fixes(shape: ModelShape, config: RealmConfig, device_kind: str, free: int, base: int,
          node_shares: bool) -> tuple[str, ...]:
    """Each setting change that alone would make the battle fit, measured with the same model."""
    t = config.training
    node = node_pool_bytes(shape, config, device_kind) if node_shares else 0

    def fits(**change) -> bool:
        return trainer_estimate(shape, config, device_kind, **change).total + base + node <= free

    out = []
    tokens = t.tokens_per_micro_batch
    while tokens > 64:
        tokens //= 2
        if fits(tokens_per_micro_batch=tokens):
            accum = t.grad_accum * t.tokens_per_micro_batch // tokens
            out.append(f"training.tokens_per_micro_batch: {tokens} with training.grad_accum: {accum} (the same "
                       "tokens per optimizer step)")
            break
    if not t.gradient_checkpointing and fits(gradient_checkpointing=True):
        out.append("training.gradient_checkpointing: true")
    if t.method == "full" and fits(method="lora"):
        out.append("training.method: lora (adapters over a frozen hero; in a new save, as the method is locked "
                   "once a save has trained)")
    if node_shares:
        trainer = trainer_estimate(shape, config, device_kind).total + base
        for pool in range(config.hosts.inference.pool - 1, 0, -1):
            if trainer + node_pool_bytes(shape, config, device_kind, pool) <= free:
                out.append(f"hosts.inference.pool: {pool} (checkpoints the local node keeps loaded)")
                break
    if not out:
        out.append("a smaller hero (hero.base_model) or a machine with more free memory")
    if node_shares:
        out.append("the node on another host or GPU (hosts.inference.url, hosts.inference.device)")
    return tuple(out)


# ----- what is free where the battle will run -----------------------------------------------


def trainer_device_kind(config: RealmConfig, gpus: int) -> tuple[str, int | None]:
    """("cpu", None) or ("cuda", index) for hosts.trainer.device on a box with `gpus` GPUs."""
    index = trainer_gpu_index(config.hosts.trainer.device, gpus)
    return ("cpu", None) if index is None else ("cuda", index)


def node_shares_memory(config: RealmConfig, device_kind: str, gpu: int | None, gpus: int) -> bool:
    """Is the local node on the same memory as training?"""
    if config.hosts.inference.url != "local":
        return False
    node = local_node_device(config.hosts.inference.device, config.hosts.trainer.device, gpus)
    node_index = None if node == "cpu" or gpus == 0 else (int(node[5:]) if node.startswith("cuda:") else 0)
    if device_kind == "cpu":
        return node_index is None
    return node_index == gpu


def free_ram(node_pid: int | None = None) -> int:
    """Available RAM, with what the running local node already holds counted as free (its pool is
    counted in full in `needed`)."""
    import psutil

    free = int(psutil.virtual_memory().available)
    if node_pid:
        try:
            free += int(psutil.Process(node_pid).memory_info().rss)
        except (psutil.Error, OSError):
            pass
    return free


def free_gpu(index: int) -> tuple[int | None, str]:
    """(free bytes, name) of a GPU through NVML; (None, ...) without nvidia-ml-py or a driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).free), f"GPU {index} ({name})"
    except Exception:  # noqa: BLE001 - no NVML: unknown
        return None, f"GPU {index}"


def battle_admission(slot: SaveSlot, config: RealmConfig, node_pid: int | None = None,
                     free_override: int | None = None) -> Admission:
    """Admission for the save's next battle, with what is free now (`free_override`: a figure
    given by the caller, e.g. a test of a machine with little memory)."""
    gpus = visible_gpu_count()
    kind, gpu = trainer_device_kind(config, gpus)
    try:
        shape = shape_of(Path(base_model_ref(slot, config)))
    except UserFacingError:
        shape = None
    shares = node_shares_memory(config, kind, gpu, gpus)
    if kind == "cpu":
        free, where = (free_override if free_override is not None else free_ram(node_pid if shares else None)), "RAM"
    else:
        free, where = free_gpu(gpu or 0)
        free = free_override if free_override is not None else free
    return admit(shape, config, kind, free, where, shares)
