"""The background tasks' read model: what each does, when it last ran, when it runs next,
and its result."""

from __future__ import annotations

import time
from dataclasses import dataclass

from backend.fmt import fmt_duration
from backend.store import Store

NEEDS = {"light": "nothing", "inference": "the node", "host": "idle machines"}


@dataclass(frozen=True)
class TaskRow:
    name: str
    resource: str
    description: str
    runs: int
    last_run_at: float | None
    next_run_at: float | None
    status: str | None
    detail: str | None

    def last_text(self, now: float) -> str:
        return f"{fmt_duration(now - self.last_run_at)} ago" if self.last_run_at else "never"

    def next_text(self, now: float) -> str:
        if not self.next_run_at or self.next_run_at <= now:
            return "when due"
        return f"in {fmt_duration(self.next_run_at - now)}"

    def result_text(self) -> str:
        if not self.status:
            return "—"
        return f"{'✓' if self.status == 'ok' else '✗'} {self.detail or ''}".rstrip()


async def read_tasks(store: Store) -> tuple[TaskRow, ...]:
    return tuple(TaskRow(t["name"], t["resource"] or "light", t["description"] or "", t["runs"], t["last_run_at"],
                         t["next_run_at"], t["last_status"], t["last_detail"]) for t in await store.tasks.all())


def now() -> float:
    return time.time()
