"""FSDP2 for heroes whose training state does not fit one device: `fully_shard` under torchrun.

Under torchrun the engine either replicates the model on every rank (DDP, engine.distributed.wrap)
or shards it (FSDP2): every decoder layer is its own `fully_shard` group, and the root group, the
engine's loss as a module (LossModule), holds the embeddings, the final norm and the LM head. Each
rank then keeps 1/world of the weights, gradients and AdamW moments; a layer's weights are gathered
for its forward and backward and freed after. The loss runs through the model's own forward (the
fast path reads weights outside the layers' forward, where FSDP's hooks would not gather them).

Checkpoints stay the format of one process: before rank 0 writes one, every rank takes part in
gathering the full weights and the full optimizer state (`full_state`), and the optimizer state is
keyed by parameter position as `optimizer.state_dict()` keys it. So a checkpoint trained sharded
resumes in one process, under DDP or sharded again, and the other way round
(`load_optimizer_state`).

`sharding: auto` shards when one copy of the training state (fp32 weights, gradients and AdamW's
two moments: 16 bytes a parameter) would take more than half of what one rank has: the memory of its
GPU, or on the CPU the machine's RAM divided among the ranks. LoRA jobs replicate: their trained
state is a few MB.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import torch

from engine.distributed import LossModule, World
from engine.forward import ForwardConfig

TRAINING_BYTES_PER_PARAMETER = 16  # fp32 weight + gradient + AdamW exp_avg + exp_avg_sq
SHARD_ABOVE_SHARE = 0.5  # auto shards when one copy would take more than this share of a rank's memory


def rank_memory_bytes(device: torch.device, world: World) -> int:
    """What one rank may use: its GPU's memory, or on the CPU the RAM shared by every rank."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // world.size


def choose_sharding(requested: str, world: World | None, model: torch.nn.Module, device: torch.device,
                    method: str = "full", memory_bytes: int | None = None) -> tuple[str | None, str]:
    """(None | 'ddp' | 'fsdp', why). None: one process. Raises ValueError for a request that cannot run."""
    if world is None:
        return None, "one process"
    if method != "full":
        if requested == "fsdp":
            raise ValueError(f"sharding fsdp trains every weight; a {method} job trains adapters of a few MB: "
                             "use sharding ddp (or auto)")
        return "ddp", f"{method}: the adapters are replicated"
    if requested in ("ddp", "fsdp"):
        return requested, "as the job asks"
    params = sum(p.numel() for p in model.parameters())
    need = params * TRAINING_BYTES_PER_PARAMETER
    have = rank_memory_bytes(device, world) if memory_bytes is None else memory_bytes
    gib = 1024 ** 3
    if need > SHARD_ABOVE_SHARE * have:
        return "fsdp", (f"auto: one copy of the training state ({need / gib:.1f} GiB) is over half of a rank's "
                        f"{have / gib:.1f} GiB")
    return "ddp", f"auto: one copy of the training state ({need / gib:.2f} GiB) fits a rank's {have / gib:.1f} GiB"


def shard(model: torch.nn.Module, forward: ForwardConfig) -> LossModule:
    """Shard `model` in place (each decoder layer, then the root) and return the root module whose
    forward is the engine's loss. Build the optimizer after this: its parameters are the shards."""
    from torch.distributed.fsdp import fully_shard

    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise ValueError(f"sharding fsdp needs a decoder with model.layers ({type(model).__name__} has none)")
    for layer in layers:
        fully_shard(layer)
    root = LossModule(model, replace(forward, fast=False))
    fully_shard(root)
    return root


def _names_in_optimizer_order(root: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    fqn = {id(p): name for name, p in root.named_parameters()}
    return [fqn[id(p)] for group in optimizer.param_groups for p in group["params"]]


def full_state(root: LossModule, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(the model's full state dict, the optimizer's full state dict keyed by position) on rank 0, on the
    CPU; empty on the other ranks. A collective: every rank calls it at the same step."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    # a tied weight (the LM head that is the embeddings) is saved once, under its first name, as one process saves it
    tied = ({n for n, _ in root.model.named_parameters(remove_duplicate=False)}
            - {n for n, _ in root.model.named_parameters()})
    weights = {k.removeprefix("model."): v for k, v in get_model_state_dict(root, options=options).items()}
    weights = {k: v for k, v in weights.items() if k not in tied}
    by_name = get_optimizer_state_dict(root, optimizer, options=options)
    if not by_name.get("param_groups"):
        return weights, {}
    index: dict[str, int] = {}
    groups = []
    for group in by_name["param_groups"]:
        ids = [index.setdefault(name, len(index)) for name in group["params"]]
        groups.append({**group, "params": ids})
    state = {index[name]: value for name, value in by_name.get("state", {}).items()}
    return weights, {"state": state, "param_groups": groups}


def load_optimizer_state(root: LossModule, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load a position-keyed optimizer state (any checkpoint's) into the sharded optimizer; each rank
    keeps its own shard of the moments."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = _names_in_optimizer_order(root, optimizer)
    saved_groups = state["param_groups"]
    if sum(len(g["params"]) for g in saved_groups) != len(names):
        raise ValueError(f"the saved optimizer state holds {sum(len(g['params']) for g in saved_groups)} "
                         f"parameters; this model trains {len(names)}")
    position = {i: names[k] for k, i in enumerate(i for g in saved_groups for i in g["params"])}
    by_name = {
        "state": {position[int(i)]: value for i, value in state["state"].items()},
        "param_groups": [{**g, "params": [position[i] for i in g["params"]]} for g in saved_groups],
    }
    set_optimizer_state_dict(root, optimizer, by_name, options=StateDictOptions(full_state_dict=True))
