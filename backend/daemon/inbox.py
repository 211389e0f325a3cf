"""The inbox component: watched files enter the quest pipeline; validation runs here."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.daemon.intake import InboxWatcher
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.moves import printable
from backend.daemon.reconcile import reconcile_quest_files
from backend.event_kinds import EventKind

log = logging.getLogger("realm.daemon.inbox")
POLL_S = 0.5
SETTLE_S = 1.0


class InboxLoop(Component):
    name = "inbox"

    def __init__(self, ctx: DaemonContext, pipeline: QuestPipeline) -> None:
        super().__init__(ctx)
        self.pipeline = pipeline
        self.watcher = InboxWatcher(ctx.slot.inbox_dir, SETTLE_S)

    async def start(self) -> None:
        fixed = await reconcile_quest_files(self.ctx)
        if fixed:
            log.info("reconciled %d quest file location(s)", fixed)
        await self.pipeline.requeue_validating()

    async def run(self, ctx: DaemonContext) -> None:
        validator = asyncio.create_task(self.pipeline.run_validations(), name="validations")
        try:
            while not ctx.state.stopping.is_set():
                for path in self.watcher.poll():
                    await self.take(path)
                for path, reason in self.watcher.lingering():
                    await ctx.event(EventKind.WARNING, {"source": "inbox", "code": "inbox_file_skipped",
                                                        "message": f"inbox/{printable(path.name)} is not taken: {reason}"})
                if await self.sleep(POLL_S):
                    return
        finally:
            validator.cancel()

    async def take(self, path: Path) -> None:
        try:
            await self.pipeline.take(path, source="inbox")
        except FileNotFoundError:
            pass  # taken away by the player before we got to it
        finally:
            self.watcher.forget(path)
