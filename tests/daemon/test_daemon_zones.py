"""Zones: push a checkpoint to a storage folder, let retention remove it from the trainer, then
ask the node for it: the vault fetches the storage copy, verifies it and the node serves it. A
corrupt copy is found by verify and never served. Real store, real checkpoints, the daemon's own
command handlers, and a real inference node on loopback standing in for the remote host."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.command_kinds import CommandKind
from backend.config import load_config
from backend.daemon.chores import vault_scan
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.node_manager import NodeManager
from backend.daemon.upkeep import apply_retention
from backend.daemon.vault_ops import register_vault_ops
from backend.daemon.zone_ops import register_zone_ops, storage_sync
from backend.event_kinds import EventKind
from backend.store import Store
from backend.vault.query import locate
from contracts.checkpoint import check_checkpoint
from daemon.harness import RemoteNode, make_save, record_checkpoints, write_checkpoints

STEPS = (100, 200, 300, 400, 500)
KEY_ENV = "ZONES_TEST_NODE_KEY"  # not REALM_*: the autouse fixture clears those for every test


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    """One remote node for the module's tests (each uses its own checkpoint steps)."""
    import asyncio
    import os

    remote = RemoteNode(tmp_path_factory.mktemp("zones-node"), KEY_ENV)
    os.environ[KEY_ENV] = remote.key
    try:
        yield asyncio.run(remote.wait_up())
    finally:
        os.environ.pop(KEY_ENV, None)
        remote.stop()


async def vault_handlers(save) -> tuple[Store, DaemonContext, Dispatcher]:
    """The save's store, a daemon context, and the daemon's own vault and zone command handlers."""
    store = await Store.open(save.db_path)
    ctx = DaemonContext(save, store, load_config(save.config_path))
    dispatcher = Dispatcher(ctx)
    register_vault_ops(dispatcher, NodeManager(ctx))
    register_zone_ops(dispatcher)
    return store, ctx, dispatcher


async def events_of(store: Store, kind: str) -> list[dict]:
    return [e.payload for e in await store.events.since(0, limit=1000) if e.kind == kind]


async def test_a_checkpoint_removed_by_retention_is_fetched_from_storage_verified_and_served(
        tmp_path: Path, nano_base: Path, node: RemoteNode) -> None:
    nas = tmp_path / "nas"
    save = await make_save(tmp_path / "save", nano_base, {
        "hosts.inference.url": node.url, "hosts.inference.api_key_env": KEY_ENV,
        "retention.keep_last": 2, "retention.keep_best": 0, "hosts.storage": {"nas": {"path": str(nas)}}})
    write_checkpoints(save.checkpoints_dir, save.base_model_dir, STEPS)
    store, ctx, dispatcher = await vault_handlers(save)
    try:
        await record_checkpoints(store, save)
        names = {r.step: r.name for r in await store.checkpoints.live()}
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_PUSH, {"step": 100, "zone": "nas"})
        assert ok, out
        assert out["path"] == str(nas / names[100]) and check_checkpoint(nas / names[100], verify_hashes=True) == []
        moves = await events_of(store, EventKind.CHECKPOINT_TRANSFER)
        assert moves[-1]["finished"] and moves[-1]["zone"] == "nas" and moves[-1]["direction"] == "push"

        await apply_retention(ctx)  # keeps the last 2: 100, 200 and 300 leave the trainer
        assert {r.step for r in await store.checkpoints.live()} == {400, 500}
        deleted = {p["step"]: p for p in await events_of(store, EventKind.CHECKPOINT_DELETED)}
        assert deleted[100]["kept_in"] == ["nas"] and deleted[200]["kept_in"] == []
        where = await locate(store, save.root, 100)
        assert not where["on_trainer"] and [(c["zone"], c["state"]) for c in where["copies"]] == [("nas", "ok")]

        # ask for it: the vault pulls the storage copy (verified), and the node serves those exact weights
        ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 100})
        assert ok, out
        row = await store.checkpoints.get(100)
        assert out["from"] == "nas" and out["sha256"] == row.weights_sha256 and row.deleted_at is None
        assert check_checkpoint(row.folder(save.root), verify_hashes=True) == []
        assert {c["zone"] for c in (await locate(store, save.root, 100))["copies"]} == {"trainer", "nas"}
        pulled = [m for m in await events_of(store, EventKind.CHECKPOINT_TRANSFER) if m["direction"] == "pull"]
        assert pulled[-1]["finished"] and pulled[-1]["why"] == "to load it on the node"

        ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 200})  # no copy anywhere
        assert not ok and "no storage zone holds a sound copy" in out["error"]

        # a copy damaged in storage: verify finds it, and it is never pulled nor served
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_PUSH, {"step": 400, "zone": "nas"})
        assert ok, out
        weights = nas / names[400] / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
        ok, report = await dispatcher.carry_out(CommandKind.VAULT_VERIFY, {"zone": "nas"})
        assert ok and report["nas"]["corrupt"] == [names[400]] and names[100] in report["nas"]["ok"]
        assert "1 corrupt" in report["summary"]
        assert ("nas", "corrupt") in [(c["zone"], c["state"]) for c in (await locate(store, save.root, 400))["copies"]]
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_PULL, {"step": 400, "zone": "nas"})
        assert ok and out.get("already")  # the trainer's own copy is sound: nothing to pull
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_DELETE, {"step": 400})
        assert ok, out
        ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 400})
        assert not ok and "not sound" in out["error"] and "sha256" in out["error"]
        assert (await store.checkpoints.get(400)).deleted_at is not None

        # the zone's policy: champions and pinned ones go there by themselves
        await store.meta.set_champion_step(500)
        assert await storage_sync(ctx) == "1 pushed to 1 storage zone(s)"
        assert check_checkpoint(nas / names[500], verify_hashes=True) == []
        assert await storage_sync(ctx) == "0 pushed to 1 storage zone(s)"

        # a database restored from an older backup forgot checkpoint 500: the vault scan finds its stored copy
        import shutil

        async with store.transaction() as conn:
            await conn.execute("DELETE FROM asset_copies")
            await conn.execute("DELETE FROM checkpoints WHERE step = 500")
        shutil.rmtree(save.checkpoints_dir / names[500])
        assert "storage: 3 copies registered" in await vault_scan(ctx)  # 100, 400 (corrupt, sizes fine) and 500
        row = await store.checkpoints.get(500)
        assert row is not None and row.deleted_at is not None and row.weights_sha256
        assert [(c["zone"], c["state"]) for c in (await locate(store, save.root, 500))["copies"]] == [("nas", "ok")]
    finally:
        await store.close()


async def test_the_remote_node_is_a_zone_its_copy_comes_back_weights_only_and_nothing_else_is_served(
        tmp_path: Path, nano_base: Path, node: RemoteNode) -> None:
    import httpx

    from backend.vault.transfer import staging_folder

    save = await make_save(tmp_path / "save", nano_base, {
        "hosts.inference.url": node.url, "hosts.inference.api_key_env": KEY_ENV})
    write_checkpoints(save.checkpoints_dir, save.base_model_dir, (600, 700))
    store, ctx, dispatcher = await vault_handlers(save)
    try:
        await record_checkpoints(store, save)
        row = await store.checkpoints.get(600)
        ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 600})  # uploads it
        assert ok and out["from"] == "trainer", out
        weights = (row.folder(save.root) / "model.safetensors").read_bytes()
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_DELETE, {"step": 600})
        assert ok, out

        # only the checkpoint's own ledger files, only with the key
        async with httpx.AsyncClient(base_url=node.url) as http:
            auth = {"Authorization": f"Bearer {node.key}"}
            assert (await http.get("/models/files/checkpoint-600")).status_code == 401
            listing = (await http.get("/models/files/checkpoint-600", headers=auth)).json()
            assert listing["weights_sha256"] == row.weights_sha256 and "resume_state.pt" not in listing["files"]
            for name in ("resume_state.pt", "..%2F..%2Fremote-node.log", "..", "nothing.bin"):
                assert (await http.get(f"/models/files/checkpoint-600/{name}", headers=auth)).status_code == 404, name
            assert (await http.get("/models/files/base/config.json", headers=auth)).status_code == 404

        # half a file already staged (an interrupted pull): the rest comes with a Range request
        staging = staging_folder(save.checkpoints_dir, row.name)
        staging.mkdir()
        (staging / "model.safetensors.part").write_bytes(weights[: len(weights) // 2])
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_PULL, {"step": 600, "zone": "node"})
        assert ok and out["weights_only"], out
        back = await store.checkpoints.get(600)
        folder = back.folder(save.root)
        assert back.deleted_at is None and back.resume_kind() == "thinned" and not staging.exists()
        assert check_checkpoint(folder, verify_hashes=True) == [] and (folder / "model.safetensors").read_bytes() == weights
        moves = [m for m in await events_of(store, EventKind.CHECKPOINT_TRANSFER) if m["zone"] == "node"]
        assert moves[-1]["finished"] and moves[-1]["direction"] == "pull"
        partway = [m["done_bytes"] for m in moves if not m["finished"]]
        assert partway and min(partway) > len(weights) // 2  # it went on from the staged half
    finally:
        await store.close()


async def test_the_catalog_holds_exports_backups_and_the_base_model(tmp_path: Path, nano_base: Path) -> None:
    from backend.daemon.upkeep import backup_database
    from contracts.checkpoint import folder_weights_sha256
    from daemon.harness import realm_cli

    save = await make_save(tmp_path / "save", nano_base, {"daemon.backups_keep": 1})
    write_checkpoints(save.checkpoints_dir, save.base_model_dir, (100,))
    store = await Store.open(save.db_path)
    ctx = DaemonContext(save, store, load_config(save.config_path))
    dispatcher = Dispatcher(ctx)
    register_vault_ops(dispatcher, NodeManager(ctx))
    try:
        await record_checkpoints(store, save)
        first = await backup_database(ctx)
        import time

        time.sleep(1.1)  # backups are named by the second
        second = await backup_database(ctx)
        ok, out = await dispatcher.carry_out(CommandKind.CHECKPOINT_EXPORT, {"step": 100, "dest": str(tmp_path / "out")})
        assert ok, out
        await vault_scan(ctx)
        assets = {(a["kind"], a["name"]): a for a in await store.catalog.all()}
        backups = [name for kind, name in assets if kind == "backup"]
        assert backups == [second.removeprefix("backup ")] and first != second  # the rotated one left
        export = assets[("export", out["path"])]
        assert export["sha256"] == (await store.checkpoints.get(100)).weights_sha256 and export["copies"][0]["zone"] == "export"
        assert assets[("base", "base")]["sha256"] == folder_weights_sha256(save.base_model_dir)
        shown = realm_cli("vault", "assets", "--save", str(save.root), env={})
        assert shown.returncode == 0 and "backup" in shown.stdout and "export" in shown.stdout and "base" in shown.stdout
    finally:
        await store.close()
