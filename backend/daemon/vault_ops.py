"""Vault commands: delete (never the champion, the deployed one or the newest),
pin/unpin, export to a folder, load/unload on the node."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from backend.command_kinds import CheckpointExport, CheckpointPin, CommandKind, NodeLoad, NodeStep, StepRef
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.node_manager import NodeManager
from backend.daemon.zone_ops import fetch_to_trainer, known_checkpoint
from backend.store.catalog import EXPORT
from backend.vault.zones import TRAINER
from contracts.checkpoint import folder_weights_sha256
from backend.errors import UserFacingError
from backend.event_kinds import EventKind
from backend.http_client import ServiceError
from backend.oracle import DEFAULT_NODE
from backend.store.checkpoints import CheckpointRow
from contracts.fsutil import folder_size
from contracts.node_api import model_id_for


async def live_checkpoint(ctx: DaemonContext, step: int) -> CheckpointRow:
    row = await ctx.store.checkpoints.get(step)
    if row is None or row.deleted_at is not None:
        raise UserFacingError(f"checkpoint-{step} is not in the vault", fix="see the Vault (v) or `realm status`")
    return row


async def merge_adapter(adapter: Path, out: Path) -> None:
    """`python -m engine merge` (the engine owns model code): the adapter merged into its base."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "engine", "merge", str(adapter), str(out),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        raise UserFacingError(f"merging {adapter.name} into its base failed: {err.decode(errors='replace')[-800:]}",
                              fix="export without --merge: the adapter folder loads with PEFT over its base")


async def delete_refusal(ctx: DaemonContext, row: CheckpointRow) -> str | None:
    if row.step == await ctx.store.meta.champion_step():
        return "it is the champion (promote another one first)"
    if row.step == await ctx.store.meta.deployed_step():
        return "it is deployed on the inference node"
    newest = await ctx.store.checkpoints.newest()
    if newest and newest.step == row.step:
        return "it is the newest checkpoint (training continues from it)"
    return None


def make_handlers(node: NodeManager) -> dict[str, Any]:
    async def node_holds(client: Any, model_id: str, name: str | None) -> bool:
        """A remote node that has the checkpoint on its own disk (the local one reads the save's folder)."""
        return not node.reads_trainer_folder(name) and model_id in await client.available()

    def on_default(name: str | None) -> bool:
        return name in (None, DEFAULT_NODE)

    async def delete(ctx: DaemonContext, p: StepRef) -> dict[str, Any]:
        row = await live_checkpoint(ctx, p.step)
        refusal = await delete_refusal(ctx, row)
        if refusal:
            raise UserFacingError(f"checkpoint-{p.step} cannot be deleted: {refusal}")
        await asyncio.to_thread(shutil.rmtree, row.folder(ctx.slot.root), True)
        await ctx.store.checkpoints.update(p.step, deleted_at=time.time())
        await ctx.store.catalog.drop_copy(row.name, TRAINER)
        await ctx.event(EventKind.CHECKPOINT_DELETED, {"step": p.step, "name": row.name, "reason": "player"})
        return {"deleted": p.step}

    async def pin(ctx: DaemonContext, p: CheckpointPin) -> dict[str, Any]:
        await live_checkpoint(ctx, p.step)
        await ctx.store.checkpoints.update(p.step, pinned=int(p.pinned))
        return {"step": p.step, "pinned": p.pinned}

    async def export(ctx: DaemonContext, p: CheckpointExport) -> dict[str, Any]:
        row = await known_checkpoint(ctx, p.step)
        source, _ = await fetch_to_trainer(ctx, row, why="to export it")  # ask the vault first
        dest_root = Path(p.dest).expanduser()
        if not dest_root.is_absolute():
            dest_root = ctx.slot.exports_dir / dest_root
        dest = dest_root / row.name
        if dest.exists():
            raise UserFacingError(f"{dest} already exists", fix="pick another folder (nothing was overwritten)")
        tmp = dest.with_name(f".{dest.name}.exporting")
        if p.merge and (source / "adapter_config.json").is_file():
            await merge_adapter(source, tmp)
        else:
            await asyncio.to_thread(shutil.copytree, source, tmp)
        tmp.rename(dest)
        merged = p.merge and (source / "adapter_config.json").is_file()
        sha = await asyncio.to_thread(folder_weights_sha256, dest) if merged else row.weights_sha256
        size = folder_size(dest)
        await ctx.store.catalog.record(EXPORT, str(dest), str(dest), sha, size, EXPORT)
        return {"step": p.step, "path": str(dest), "merged": merged}

    async def load(ctx: DaemonContext, p: NodeLoad) -> dict[str, Any]:
        where = "the node" if on_default(p.node) else f"node {p.node}"
        if p.base:
            return await load_base(p.node, where)
        assert p.step is not None
        row = await known_checkpoint(ctx, p.step)
        client = node.client(timeout_s=300.0, node=p.node)
        try:
            if not await node_holds(client, model_id_for(p.step), p.node):  # ask the vault first: fetch if it must
                folder, came_from = await fetch_to_trainer(ctx, row, why=f"to load it on {where}")
                await node.ensure_available(client, model_id_for(p.step), folder, p.node)
            else:
                came_from = "node"
            card = await client.load(model_id_for(p.step))
        except ServiceError as exc:
            raise UserFacingError(f"{where} could not load checkpoint-{p.step}: {exc}") from exc
        finally:
            await client.aclose()
        if on_default(p.node):
            await ctx.store.checkpoints.update(p.step, on_node=1)
        return {"model": card.id, "sha256": card.sha256, "from": came_from, "node": p.node or DEFAULT_NODE}

    async def load_base(name: str | None, where: str) -> dict[str, Any]:
        """The hero's untrained base: the local node serves it from --base-dir; a remote node must
        have been started with one."""
        client = node.client(timeout_s=300.0, node=name)
        try:
            if not node.reads_trainer_folder(name) and "base" not in await client.available():
                raise UserFacingError(f"{where} has no base model",
                                      fix="start it with --base-dir pointing at the hero's base model folder")
            card = await client.load("base")
        except ServiceError as exc:
            raise UserFacingError(f"{where} could not load the base model: {exc}") from exc
        finally:
            await client.aclose()
        return {"model": card.id, "sha256": card.sha256, "node": name or DEFAULT_NODE}

    async def unload(ctx: DaemonContext, p: NodeStep) -> dict[str, Any]:
        client = node.client(node=p.node)
        try:
            await client.unload(model_id_for(p.step))
        except ServiceError as exc:
            raise UserFacingError(f"the node could not unload checkpoint-{p.step}: {exc}") from exc
        finally:
            await client.aclose()
        if on_default(p.node):
            await ctx.store.checkpoints.update(p.step, on_node=0)
        return {"unloaded": p.step}

    return {CommandKind.CHECKPOINT_DELETE: delete, CommandKind.CHECKPOINT_PIN: pin,
            CommandKind.CHECKPOINT_EXPORT: export, CommandKind.NODE_LOAD: load, CommandKind.NODE_UNLOAD: unload}


def register_vault_ops(dispatcher: Dispatcher, node: NodeManager) -> None:
    for kind, handler in make_handlers(node).items():
        dispatcher.register(kind, handler)
