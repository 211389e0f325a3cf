"""More than one device: the engine under torchrun (`python -m torch.distributed.run`).

torchrun starts one engine per device with RANK, WORLD_SIZE and LOCAL_RANK set. Each rank
loads the same job, model and data and plans the same epochs with `grad_accum x world`
micro-batches per optimizer step; rank r trains micro-batches r, r + world, ... of each step.
The model is wrapped in torch's DistributedDataParallel (through `LossModule`, whose forward is
the engine's supervised-only loss), so gradients are all-reduced while backward runs, and only
the last micro-batch of a step synchronises (`no_sync` before it). Every micro-batch's loss is
divided by the supervised tokens of the whole step across ranks and multiplied by the world
size (DDP averages), so the update equals one process training all micro-batches of the step.

Rank 0 alone writes events and checkpoints, and reads control lines; each step it broadcasts
the commands it received, so every rank stops, saves or pauses at the same step. At the end all
ranks meet at a barrier after rank 0 has saved, and DDP is released before the process group. The backend is
NCCL on CUDA and gloo on the CPU (the equivalence test runs on gloo).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from engine.batching.collate import Batch
from engine.forward import ForwardConfig, loss_sum


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, value: torch.Tensor) -> torch.Tensor:
        out = value.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def barrier(self) -> None:
        dist.barrier()

    def broadcast_commands(self, commands: list[str]) -> list[str]:
        """Rank 0's commands, on every rank."""
        box: list[list[str] | None] = [commands if self.main else None]
        dist.broadcast_object_list(box, src=0)
        return list(box[0] or [])


def launched_world() -> World | None:
    """The world torchrun set up (None for one process)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return None
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


def init_world(device: torch.device) -> None:
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def close_world() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_device(requested: torch.device, world: World | None) -> torch.device:
    """Each rank's own GPU (cuda:LOCAL_RANK); the CPU stays the CPU."""
    if world is None or requested.type != "cuda":
        return requested
    return torch.device("cuda", world.local_rank)


class LossModule(torch.nn.Module):
    """The model with the engine's loss as its forward, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module, forward: ForwardConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = forward

    def forward(self, batch: Batch) -> torch.Tensor:  # noqa: D401 - nn.Module API
        return loss_sum(self.model, batch, self.cfg)


def wrap(model: torch.nn.Module, forward: ForwardConfig, device: torch.device) -> torch.nn.Module:
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(LossModule(model, forward), device_ids=ids)


@contextlib.contextmanager
def accumulating(wrapper: torch.nn.Module) -> Iterator[None]:
    """A micro-batch that is not its step's last: its gradient stays on this rank (DDP's `no_sync`,
    FSDP2's `set_requires_gradient_sync(False)`), and the last one reduces the step's whole gradient."""
    if hasattr(wrapper, "no_sync"):
        with wrapper.no_sync():
            yield
        return
    wrapper.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        wrapper.set_requires_gradient_sync(True)


def local_share(step_plan: tuple, world: World | None) -> tuple[tuple, bool]:
    """(this rank's micro-batches of a step, whether they count). A rank with none left at the end
    of an epoch runs the step's first micro-batch with weight 0, so every rank joins the reduction."""
    if world is None:
        return step_plan, True
    mine = step_plan[world.rank::world.size]
    return (mine, True) if mine else (step_plan[:1], False)
