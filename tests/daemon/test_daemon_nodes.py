"""More than one inference node: hosts.nodes names others beside the default. A checkpoint is
loaded on the node asked for (uploaded to it), evaluation.node evaluates there, and `realm
hosts` lists every node with its live status. Two real nodes on loopback, the daemon's own
command handlers and evaluator, a real store."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from backend.command_kinds import CommandKind
from backend.config import load_config
from backend.config.edit import set_value
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.evaluation import Evaluator
from backend.daemon.node_manager import NodeManager
from backend.daemon.vault_ops import register_vault_ops
from backend.store import Store
from daemon.harness import RemoteNode, make_save, realm_cli, record_checkpoints, write_checkpoints

KEY_A, KEY_B = "REALM_NODES_TEST_KEY_A", "REALM_NODES_TEST_KEY_B"


async def loaded(node: RemoteNode) -> list[str]:
    async with httpx.AsyncClient(base_url=node.url, headers={"Authorization": f"Bearer {node.key}"}) as http:
        return [m["id"] for m in (await http.get("/v1/models")).json()["data"]]


async def test_a_checkpoint_loads_and_is_evaluated_on_the_node_asked_for(tmp_path: Path, nano_base: Path,
                                                                          monkeypatch) -> None:
    a, b = RemoteNode(tmp_path / "a", KEY_A), RemoteNode(tmp_path / "b", KEY_B)
    try:
        await a.wait_up()
        await b.wait_up()
        monkeypatch.setenv(KEY_A, a.key)
        monkeypatch.setenv(KEY_B, b.key)
        save = await make_save(tmp_path / "save", nano_base, {
            "hosts.inference.url": a.url, "hosts.inference.api_key_env": KEY_A,
            "hosts.nodes": {"gpu2": {"url": b.url, "api_key_env": KEY_B}}, "evaluation.max_new_tokens": 12})
        write_checkpoints(save.checkpoints_dir, save.base_model_dir, (100,))
        store = await Store.open(save.db_path)
        try:
            await record_checkpoints(store, save)
            ctx = DaemonContext(save, store, load_config(save.config_path))
            dispatcher = Dispatcher(ctx)
            register_vault_ops(dispatcher, NodeManager(ctx))

            ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 100, "node": "gpu2"})
            assert ok, out
            row = await store.checkpoints.get(100)
            assert out["node"] == "gpu2" and out["sha256"] == row.weights_sha256
            assert await loaded(b) == ["checkpoint-100"] and await loaded(a) == []
            assert not row.on_node  # the default node's flag: it holds nothing
            ok, out = await dispatcher.carry_out(CommandKind.NODE_UNLOAD, {"step": 100, "node": "gpu2"})
            assert ok and await loaded(b) == []
            ok, out = await dispatcher.carry_out(CommandKind.NODE_LOAD, {"step": 100, "node": "tpu9"})
            assert not ok and "no inference node named 'tpu9'" in out["error"]

            # evaluation.node: the evaluator uploads to that node and asks it
            config, problems = set_value(save.config_path, "evaluation.node", json.dumps("gpu2"))
            assert config is not None, problems
            ctx.config = config
            results = await Evaluator(ctx, NodeManager(ctx)).evaluate(row)
            assert results and {r.skill for r in results} == {"bin", "sy"}
            assert all(r.total > 0 for r in results)
            assert await loaded(a) == []  # the default node was never asked

            config, problems = set_value(save.config_path, "evaluation.node", json.dumps("tpu9"))
            assert config is None and "evaluation.node 'tpu9' is not a node of hosts.nodes" in problems[0].render()

            shown = realm_cli("hosts", "--json", "--save", str(save.root), env={KEY_A: a.key, KEY_B: b.key})
            hosts = {h["name"]: h for h in json.loads(shown.stdout)}
            assert shown.returncode == 0, shown.stdout
            assert hosts["inference"]["ok"] and hosts["gpu2"]["ok"] and hosts["gpu2"]["address"] == b.url
            assert "(evaluates)" in hosts["gpu2"]["detail"] and hosts["gpu2"]["role"] == "inference"
            doctor = realm_cli("doctor", "--save", str(save.root), env={KEY_A: a.key, KEY_B: b.key})
            assert "✓ node gpu2" in doctor.stdout, doctor.stdout
            assert "0 model(s) loaded" in hosts["inference"]["status"] and hosts["inference"]["address"] == a.url
        finally:
            await store.close()
    finally:
        a.stop()
        b.stop()
