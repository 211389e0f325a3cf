"""CPU thread governor for `threads: 0` (auto).

With OpenMP, a step split over every core stalls badly when another process (the inference
node, a test run, the desktop) takes one of those cores: each of the thousands of small
parallel regions per step waits for the descheduled thread. On a 2-core machine that made
steps up to 25x slower. The governor measures achieved FLOP/s per thread count, re-probes the
alternative for a few steps every so often, and keeps whichever is faster now. Explicit
`threads: N` disables it (fixed count, reproducible reductions).
"""

from __future__ import annotations

import torch

PROBE_EVERY = 50  # steps between probes
SLUMP = 0.5  # probe at once when the current rate falls below this share of its best
PROBE_STEPS = 3  # steps measured at the alternative count
SKIP_AFTER_SWITCH = 1  # the first step after a switch is not measured
EMA = 0.3


class ThreadGovernor:
    def __init__(self, max_threads: int, adaptive: bool) -> None:
        self.max_threads = max(1, max_threads)
        self.candidates = sorted({self.max_threads, max(1, self.max_threads // 2), 1}, reverse=True)
        self.adaptive = adaptive and len(self.candidates) > 1
        self.current = self.max_threads
        self.rate: dict[int, float] = {}
        self.best: dict[int, float] = {}
        self.steps_at_current = 0
        self.steps_since_probe = 0
        self.probing: int | None = None
        self.home = self.max_threads
        torch.set_num_threads(self.current)

    def _switch(self, n: int) -> None:
        if n != self.current:
            self.current = n
            torch.set_num_threads(n)
        self.steps_at_current = 0

    def after_step(self, flops: float, seconds: float) -> None:
        """Record one step and maybe change the thread count for the next one."""
        if not self.adaptive:
            return
        self.steps_at_current += 1
        self.steps_since_probe += 1
        if self.steps_at_current > SKIP_AFTER_SWITCH and seconds > 0:
            r = flops / seconds
            old = self.rate.get(self.current)
            self.rate[self.current] = r if old is None else (1 - EMA) * old + EMA * r
            self.best[self.current] = max(self.best.get(self.current, 0.0), self.rate[self.current])
        if self.probing is not None:
            if self.steps_at_current >= PROBE_STEPS + SKIP_AFTER_SWITCH:
                self.probing = None
                self.home = max(self.rate, key=lambda n: self.rate[n])
                self.best = dict(self.rate)  # re-baseline: slumps are judged against the conditions just measured
                self._switch(self.home)
                self.steps_since_probe = 0
            return
        slumped = self.current in self.rate and self.rate[self.current] < SLUMP * self.best[self.current]
        if self.steps_since_probe >= PROBE_EVERY or (slumped and self.steps_since_probe >= PROBE_STEPS):
            others = [n for n in self.candidates if n != self.current]
            self.probing = min(others, key=lambda n: (n in self.rate, n))  # unmeasured first
            self._switch(self.probing)
