"""The task master: background tasks, each with a priority, a cooldown and the
resource it needs, run one at a time when that resource is idle.

Resources: "light" (cheap bookkeeping: always allowed), "inference" (the node:
allowed when it serves no player request), "host" (CPU/GPU heavy: allowed when
the machine's load is under the busy threshold or no battle runs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.daemon.resources import ResourceMonitor

log = logging.getLogger("realm.daemon.tasks")
TICK_S = 1.0


@dataclass
class Task:
    name: str
    priority: int
    cooldown_s: Callable[[DaemonContext], float] | float
    resource: str  # light | inference | host
    run: Callable[[DaemonContext], Awaitable[str]]  # returns a one-line outcome
    due: Callable[[DaemonContext], Awaitable[bool]] | None = None
    last_run: float = field(default=0.0)

    def cooldown(self, ctx: DaemonContext) -> float:
        return self.cooldown_s(ctx) if callable(self.cooldown_s) else self.cooldown_s


class TaskMaster(Component):
    name = "tasks"

    def __init__(self, ctx: DaemonContext, tasks: list[Task], inference_busy: Callable[[], bool] | None = None) -> None:
        super().__init__(ctx)
        self.tasks = sorted(tasks, key=lambda t: -t.priority)
        self.monitor = ResourceMonitor()
        self.inference_busy = inference_busy or (lambda: False)

    async def start(self) -> None:
        for task in self.tasks:
            await self.ctx.store.tasks.register(task.name, task.priority, task.cooldown(self.ctx))

    def resource_free(self, resource: str) -> bool:
        if resource == "light":
            return True
        if resource == "inference":
            return not self.inference_busy()
        return self.ctx.state.activity != "training" or self.monitor.host_idle()

    async def run(self, ctx: DaemonContext) -> None:
        while not ctx.state.stopping.is_set():
            await self.tick()
            if await self.sleep(TICK_S):
                return

    async def tick(self) -> str | None:
        """Run the most important task that is due; return its name."""
        now = time.time()
        for task in self.tasks:
            if now - task.last_run < task.cooldown(self.ctx) or not self.resource_free(task.resource):
                continue
            if task.due is not None and not await task.due(self.ctx):
                continue
            task.last_run = now
            try:
                outcome = await task.run(self.ctx)
                await self.ctx.store.tasks.ran(task.name, "ok", outcome)
            except Exception as exc:  # noqa: BLE001 - reported, retried after its cooldown
                log.exception("task %s failed", task.name)
                await self.ctx.store.tasks.ran(task.name, "error", f"{type(exc).__name__}: {exc}")
            return task.name
        return None
