"""The task master: background tasks, each with a priority, a cooldown and the
resource it needs, run one at a time when that resource is free.

Resources: "light" (cheap bookkeeping: always allowed), "inference" (the node:
allowed when it serves no player request), "host" (heavy: allowed when the trainer
and the inference host are both below `daemon.tasks_busy_percent`, or no battle
runs; a host task that has waited a whole cooldown past due runs anyway, so a box
that trains all day still gets its daily sparring round).

`realm tasks run NAME` (the TASK_RUN command) runs one now, whatever its cooldown
and resource; the result goes back to the command and into the tasks table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from backend.command_kinds import CommandKind, TaskRun
from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.resources import ResourceMonitor
from backend.errors import UserFacingError
from contracts.utilisation import Utilisation

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
    when: str = ""  # for the player: what makes it due, e.g. "every new checkpoint"
    last_run: float = field(default=0.0)
    waiting_since: float | None = None  # a host task kept from running by busy machines since then

    def cooldown(self, ctx: DaemonContext) -> float:
        return self.cooldown_s(ctx) if callable(self.cooldown_s) else self.cooldown_s


class TaskMaster(Component):
    name = "tasks"

    def __init__(self, ctx: DaemonContext, tasks: list[Task], inference_busy: Callable[[], bool] | None = None,
                 node_utilisation: Callable[[], Utilisation | None] = lambda: None) -> None:
        super().__init__(ctx)
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique: {names}")
        self.tasks = sorted(tasks, key=lambda t: -t.priority)
        self.monitor = ResourceMonitor(lambda: ctx.config.daemon.tasks_busy_percent, node_utilisation)
        self.inference_busy = inference_busy or (lambda: False)
        self.locks = {t.name: asyncio.Lock() for t in tasks}  # a task never runs twice at once

    async def start(self) -> None:
        for task in self.tasks:
            await self.ctx.store.tasks.register(task.name, task.priority, task.cooldown(self.ctx), task.resource,
                                                task.when)

    def resource_free(self, task: Task, now: float) -> bool:
        if task.resource == "light":
            return True
        if task.resource == "inference":
            return not self.inference_busy()
        if self.inference_busy():
            return False
        if self.ctx.state.activity != "training" or self.monitor.hosts_idle():
            task.waiting_since = None
            return True
        task.waiting_since = task.waiting_since or now
        return now - task.waiting_since >= task.cooldown(self.ctx)  # overdue: it runs anyway

    async def run(self, ctx: DaemonContext) -> None:
        while not ctx.state.stopping.is_set():
            await self.tick()
            if await self.sleep(TICK_S):
                return

    async def tick(self) -> str | None:
        """Run the most important task that is due; return its name."""
        now = time.time()
        self.monitor.sample()
        for task in self.tasks:
            if self.locks[task.name].locked() or now - task.last_run < task.cooldown(self.ctx):
                continue
            if task.due is not None and not await task.due(self.ctx):
                continue
            if not self.resource_free(task, now):
                continue
            await self.execute(task, now)
            return task.name
        return None

    async def execute(self, task: Task, now: float) -> tuple[str, str]:
        """Run one task; (status, outcome), also written to the tasks table."""
        async with self.locks[task.name]:
            task.last_run, task.waiting_since = now, None
            try:
                outcome = await task.run(self.ctx)
                status = "ok"
            except Exception as exc:  # noqa: BLE001 - reported, retried after its cooldown
                log.exception("task %s failed", task.name)
                status, outcome = "error", f"{type(exc).__name__}: {exc}"
        await self.ctx.store.tasks.ran(task.name, status, outcome, next_run_at=now + task.cooldown(self.ctx))
        return status, outcome

    def find(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise UserFacingError(f"no background task named {name!r}",
                              fix=f"use one of: {', '.join(sorted(t.name for t in self.tasks))}")

    def register(self, dispatcher: Dispatcher) -> None:
        async def handle(ctx: DaemonContext, p: TaskRun) -> dict[str, Any]:
            task = self.find(p.name)
            status, outcome = await self.execute(task, time.time())
            if status == "error":
                raise UserFacingError(f"task {task.name} failed: {outcome}", fix="see logs/daemon.log for the trace")
            return {"task": task.name, "status": status, "outcome": outcome}

        dispatcher.register(CommandKind.TASK_RUN, handle, background=True)
