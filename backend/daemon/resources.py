"""Is the trainer or the inference host idle? GPU utilisation through nvidia-ml-py
where there is a GPU, CPU load through psutil otherwise."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

import psutil

log = logging.getLogger("realm.daemon.resources")


@dataclass(frozen=True)
class Load:
    cpu_percent: float
    gpu_percent: float | None


class ResourceMonitor:
    def __init__(self, busy_percent: float = 85.0) -> None:
        self.busy_percent = busy_percent
        self._nvml = None
        if importlib.util.find_spec("pynvml") is not None:
            try:
                import pynvml

                pynvml.nvmlInit()
                self._nvml = pynvml
            except Exception:  # noqa: BLE001 - no driver: fall back to CPU load
                self._nvml = None
        psutil.cpu_percent(interval=None)  # prime the counter

    def load(self) -> Load:
        return Load(psutil.cpu_percent(interval=None), self.gpu_percent())

    def gpu_percent(self) -> float | None:
        if self._nvml is None:
            return None
        try:
            count = self._nvml.nvmlDeviceGetCount()
            rates = [self._nvml.nvmlDeviceGetUtilizationRates(self._nvml.nvmlDeviceGetHandleByIndex(i)).gpu for i in range(count)]
            return float(max(rates)) if rates else None
        except Exception:  # noqa: BLE001
            return None

    def host_idle(self) -> bool:
        load = self.load()
        busy = load.gpu_percent if load.gpu_percent is not None else load.cpu_percent
        return busy < self.busy_percent
