"""The champion: the best checkpoint by evaluation, then validation loss, then step.
A new champion is deployed on the inference node (loaded, its sha256 confirmed
through /models/info) with a 'New champion!' event recording the latency from
checkpoint saved to serving. The player can promote any checkpoint."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from backend.command_kinds import CommandKind, StepRef
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.node_manager import NodeManager
from backend.vault.ranking import SCORE_SQL, rank_key
from backend.daemon.taskmaster import Task
from backend.errors import UserFacingError
from backend.event_kinds import EventKind
from backend.http_client import ServiceError
from contracts.node_api import model_id_for

CONFIRM_TIMEOUT_S = 60.0


async def evaluation_score(ctx: DaemonContext, step: int) -> float | None:
    """The ranking rule's score (backend.vault.ranking); None when not evaluated."""
    value = await ctx.store.scalar(f"SELECT {SCORE_SQL} FROM evaluations WHERE checkpoint_step = ?", (step,))
    return None if value is None else float(value)


async def ranking(ctx: DaemonContext, step: int) -> tuple[float, float, int]:
    row = await ctx.store.checkpoints.get(step)
    return rank_key(step, await evaluation_score(ctx, step), row.val_loss if row else None)


class Champion:
    def __init__(self, ctx: DaemonContext, node: NodeManager) -> None:
        self.ctx = ctx
        self.node = node
        self.warmed_at_up = 0  # the node's count of comings-up when the champion was last loaded on it

    async def current(self) -> int | None:
        return await self.ctx.store.meta.champion_step()

    async def consider(self, step: int) -> bool:
        """After an evaluation: crown `step` when it ranks above the current champion."""
        if await evaluation_score(self.ctx, step) is None:
            return False
        champion = await self.current()
        if champion is not None and await self.ctx.store.checkpoints.get(champion) is not None:
            if await ranking(self.ctx, step) >= await ranking(self.ctx, champion):
                return False
        await self.crown(step, promoted_by="ranking")
        return True

    async def crown(self, step: int, promoted_by: str) -> None:
        ctx = self.ctx
        row = await ctx.store.checkpoints.get(step)
        await ctx.store.meta.set_champion_step(step)
        await ctx.event(EventKind.CHAMPION, {"step": step, "name": row.name if row else None,
                                             "score": await evaluation_score(ctx, step),
                                             "val_loss": row.val_loss if row else None, "promoted_by": promoted_by})
        await self.deploy(step)

    async def deploy(self, step: int) -> dict[str, Any]:
        """Load on the node and confirm the exact weights are serving."""
        ctx = self.ctx
        row = await ctx.store.checkpoints.get(step)
        if row is None or row.deleted_at is not None:
            raise UserFacingError(f"checkpoint-{step} is not in the vault")
        await asyncio.wait_for(self.node.ready.wait(), CONFIRM_TIMEOUT_S)
        model_id = model_id_for(step)
        client = self.node.client(timeout_s=300.0)
        try:
            folder = row.folder(ctx.slot.root)
            await self.node.ensure_available(client, model_id, folder)
            await client.load(model_id)
            served = await self.confirm(client, model_id, row.weights_sha256)
            previous = await ctx.store.meta.deployed_step()
            if previous not in (None, step):
                try:
                    await client.unload(model_id_for(previous))
                except ServiceError:
                    pass
        finally:
            await client.aclose()
        await ctx.store.meta.set_deployed_step(step)
        await ctx.store.checkpoints.update(step, on_node=1)
        latency = time.time() - row.created_at
        await ctx.event(EventKind.DEPLOYED, {"step": step, "sha256": served, "latency_s": round(latency, 2)})
        return {"step": step, "sha256": served, "latency_s": latency}

    async def confirm(self, client: Any, model_id: str, expected: str | None) -> str:
        end = time.monotonic() + CONFIRM_TIMEOUT_S
        while time.monotonic() < end:
            details = await client.model_details()
            served = (details.get(model_id) or {}).get("weights_sha256")
            if served and (expected is None or served == expected):
                return served
            if served and served != expected:
                raise UserFacingError(f"the node serves {model_id} with sha256 {served[:12]}, the ledger says {expected[:12]}",
                                      fix="the checkpoint's files changed; it cannot be deployed")
            await asyncio.sleep(0.5)
        raise UserFacingError(f"the node did not confirm {model_id} within {CONFIRM_TIMEOUT_S:.0f}s")

    async def warmup_due(self, ctx: DaemonContext) -> bool:
        return (self.node.status == "up" and self.node.ups != self.warmed_at_up
                and await ctx.store.meta.deployed_step() is not None)

    async def warmup(self, ctx: DaemonContext) -> str:
        """After a daemon or node restart the node has nothing loaded: load the deployed champion
        again, so the Oracle's first answer does not wait for a load."""
        step = await ctx.store.meta.deployed_step()
        if step is None:
            return "no champion deployed yet"
        loaded = await self.node.loaded_ids()
        self.warmed_at_up = self.node.ups
        if model_id_for(step) in loaded:
            return f"checkpoint-{step} is already loaded on the node"
        await self.deploy(step)
        return f"checkpoint-{step} loaded on the node again"

    def warmup_task(self) -> Task:
        return Task("model_warmup", 55, 30.0, "inference", self.warmup, due=self.warmup_due,
                    when="after the daemon or the node restarts: the deployed champion is loaded again")

    def register(self, dispatcher: Dispatcher) -> None:
        async def promote(ctx: DaemonContext, p: StepRef) -> dict[str, Any]:
            if await ctx.store.checkpoints.get(p.step) is None:
                raise UserFacingError(f"there is no checkpoint-{p.step}", fix="pick one from the Vault (v)")
            await self.crown(p.step, promoted_by="player")
            return {"champion": p.step}

        dispatcher.register(CommandKind.PROMOTE, promote)
