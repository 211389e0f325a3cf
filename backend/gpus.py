"""How many GPUs this process may use, without importing torch (backend stays light), and
which device the local inference node should take.

The count honours CUDA_VISIBLE_DEVICES (an empty value hides every GPU, as the CPU test
suite sets it); otherwise NVML when nvidia-ml-py is installed, else the driver's
/proc/driver/nvidia/gpus entries; 0 where there is no NVIDIA driver."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

PROC_GPUS = Path("/proc/driver/nvidia/gpus")


def visible_gpu_count(environ: dict[str, str] | None = None, proc_gpus: Path = PROC_GPUS) -> int:
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if importlib.util.find_spec("pynvml") is not None:
        try:
            import pynvml

            pynvml.nvmlInit()
            return int(pynvml.nvmlDeviceGetCount())
        except Exception:  # noqa: BLE001 - no driver: look in /proc
            pass
    try:
        return sum(1 for _ in proc_gpus.iterdir())
    except OSError:
        return 0


def trainer_gpu_index(trainer_device: str, gpus: int) -> int | None:
    """The GPU index training runs on (None: the CPU)."""
    if trainer_device == "cpu" or gpus == 0:
        return None
    if trainer_device.startswith("cuda:"):
        return int(trainer_device[5:])
    return 0  # auto and cuda take the first GPU


def local_node_device(setting: str, trainer_device: str, gpus: int) -> str:
    """The --device of the node the daemon runs on this machine. An explicit setting wins;
    `auto` puts the node on another GPU than training's where there are two or more (else
    on the one GPU beside training, or the CPU)."""
    if setting != "auto":
        return setting
    trainer = trainer_gpu_index(trainer_device, gpus)
    if gpus >= 2 and trainer is not None:
        return f"cuda:{(trainer + 1) % gpus}"
    return "auto"
