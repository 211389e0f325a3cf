"""How busy a machine is: GPU utilisation through NVML where nvidia-ml-py and a driver are
present, CPU load through psutil otherwise. The daemon measures the trainer with it, and the
inference node reports its own in GET /models/info (`utilisation`), so the task master can
tell when both are idle."""

from __future__ import annotations

import importlib.util
from typing import Any

import psutil
from pydantic import BaseModel


class Utilisation(BaseModel):
    cpu_percent: float
    gpu_percent: float | None = None  # the busiest GPU watched, None without NVML

    @property
    def busy_percent(self) -> float:
        """What counts: the GPU where there is one, else the CPU."""
        return self.gpu_percent if self.gpu_percent is not None else self.cpu_percent


class UtilisationMeter:
    """Samples utilisation; `gpus` limits NVML to those indices (None = every GPU)."""

    def __init__(self, gpus: list[int] | None = None) -> None:
        self.gpus = gpus
        self._nvml: Any = None
        if importlib.util.find_spec("pynvml") is not None:
            try:
                import pynvml

                pynvml.nvmlInit()
                self._nvml = pynvml
            except Exception:  # noqa: BLE001 - no driver: CPU load instead
                self._nvml = None
        psutil.cpu_percent(interval=None)  # prime: the next call measures since now

    def gpu_percent(self) -> float | None:
        if self._nvml is None:
            return None
        try:
            indices = self.gpus if self.gpus is not None else range(self._nvml.nvmlDeviceGetCount())
            rates = [self._nvml.nvmlDeviceGetUtilizationRates(self._nvml.nvmlDeviceGetHandleByIndex(i)).gpu
                     for i in indices]
        except Exception:  # noqa: BLE001 - a GPU that vanished reads as unknown
            return None
        return float(max(rates)) if rates else None

    def sample(self) -> Utilisation:
        """Utilisation since the previous sample (the CPU part; NVML's own window for GPUs)."""
        return Utilisation(cpu_percent=psutil.cpu_percent(interval=None), gpu_percent=self.gpu_percent())
