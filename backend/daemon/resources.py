"""Are the trainer and the inference host idle enough for heavy background work? The
trainer is measured here (`contracts.utilisation`: its GPUs through NVML, else CPU load);
the inference node reports its own machine in /models/info, which the node manager reads
at every health check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contracts.utilisation import Utilisation, UtilisationMeter


@dataclass(frozen=True)
class Verdict:
    idle: bool
    reason: str  # e.g. "trainer 92 % CPU, node 12 % GPU; heavy tasks wait below 40 %"

    def __bool__(self) -> bool:
        return self.idle


def describe(u: Utilisation | None) -> str:
    if u is None:
        return "not reported"
    return f"{u.gpu_percent:.0f} % GPU" if u.gpu_percent is not None else f"{u.cpu_percent:.0f} % CPU"


class ResourceMonitor:
    def __init__(self, busy_percent: Callable[[], float], node: Callable[[], Utilisation | None] = lambda: None,
                 meter: UtilisationMeter | None = None) -> None:
        self.busy_percent = busy_percent
        self.node = node
        self.meter = meter or UtilisationMeter()
        self.trainer: Utilisation | None = None

    def sample(self) -> Utilisation:
        """The trainer's utilisation since the previous sample (the task master samples every tick)."""
        self.trainer = self.meter.sample()
        return self.trainer

    def hosts_idle(self) -> Verdict:
        """Both machines below the threshold (a node that reports nothing counts as idle: a plain
        OpenAI-compatible server, or one not started yet)."""
        limit = self.busy_percent()
        trainer, node = self.trainer or self.sample(), self.node()
        busy = [name for name, u in (("trainer", trainer), ("node", node))
                if u is not None and u.busy_percent >= limit]
        text = f"trainer {describe(trainer)}, node {describe(node)}"
        if busy:
            return Verdict(False, f"{text}; heavy tasks wait below {limit:g} %")
        return Verdict(True, f"{text}; below {limit:g} %")
