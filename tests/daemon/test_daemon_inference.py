"""The daemon with a real inference node on loopback, used as a remote host:
checkpoints are uploaded, each evaluated exactly once, the best crowned and served
(its sha256 confirmed by the node), and wrong answers turned into sparring quests."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend.event_kinds import EventKind
from backend.oracle import OracleClient
from backend.validation import load_sidecar
from daemon.harness import RemoteNode, chat_lines, drop_in_inbox, make_save, store_of, wait_until

pytestmark = pytest.mark.slow
KEY_ENV = "REALM_TEST_REMOTE_KEY"


@pytest.fixture
def remote_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    node = RemoteNode(tmp_path, KEY_ENV, "--pool", "3")
    monkeypatch.setenv(KEY_ENV, node.key)  # the daemon reads the key from the variable named in realm.yaml
    asyncio.run(node.wait_up())
    yield node.url, node.key, node.models
    node.stop()


async def test_remote_node_evaluates_once_crowns_and_spars(tmp_path: Path, nano_base: Path, remote_node) -> None:
    from daemon.harness import DaemonProcess

    url, key, models = remote_node
    save = await make_save(tmp_path / "save", nano_base, {
        "hosts.inference.url": url, "hosts.inference.api_key_env": KEY_ENV,
        "evaluation.enabled": True, "evaluation.max_new_tokens": 16,
        "sparring.enabled": True, "sparring.min_accuracy": 0.0, "sparring.every_steps": 1, "sparring.problems": 4,
        "sparring.round_problems": 2,
        "training.save_every": 8,
    })
    drop_in_inbox(save, "sums.jsonl", chat_lines(600))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def sparring_quest():
            return [q for q in await store.quests.list() if q.source == "sparring"]

        async def deployed():
            return await store.meta.deployed_step()

        await wait_until(deployed, 300, "a champion deployed on the remote node")
        quests = await wait_until(sparring_quest, 300, "a sparring quest")
        # Evaluated exactly once per checkpoint: one evaluation per (skill, level), one marker.
        evaluated = [e.payload["step"] for e in await store.events.since(0, kinds=(EventKind.CHECKPOINT_EVALUATED,))]
        assert evaluated and len(evaluated) == len(set(evaluated))
        rows = await store.fetchall("SELECT checkpoint_step, skill, level, COUNT(*) AS n FROM evaluations GROUP BY 1, 2, 3")
        assert rows and all(r["n"] == 1 for r in rows)
        assert {r["skill"] for r in rows} == {"bin", "sy"}
        # The champion is served with the ledger's weights, confirmed through /models/info.
        step = await deployed()
        row = await store.checkpoints.get(step)
        client = OracleClient(url, key)
        try:
            details = await client.model_details()
        finally:
            await client.aclose()
        assert details[f"checkpoint-{step}"]["weights_sha256"] == row.weights_sha256
        assert any(p.name.startswith(f"checkpoint-{step}-") for p in models.iterdir()), "not uploaded"
        champion_events = await store.events.since(0, kinds=(EventKind.CHAMPION,))
        deploy_events = await store.events.since(0, kinds=(EventKind.DEPLOYED,))
        assert champion_events and deploy_events[-1].payload["sha256"] == row.weights_sha256
        assert deploy_events[-1].payload["latency_s"] < 300
        # Sparring: HIGH priority, lineage names the generator and the checkpoint, 3 examples per wrong answer.
        quest = quests[0]
        assert quest.priority == "high"
        sparred = [e for e in await store.events.since(0, kinds=(EventKind.SPARRING,))]
        wrong = sparred[0].payload["wrong"]
        assert wrong >= 1
        quest = await store.quests.get(quest.id)  # the daemon may have moved it on (queued -> processing -> ...)
        path = save.root / quest.path
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert len(lines) == 3 * wrong
        assert [m["messages"][-1]["content"] for m in lines[:3]][0::2] == ["It is incorrect.", "It is correct."]
        side = load_sidecar(path)
        assert side.meta.generator_id == "sparring" and side.meta.checkpoint_step == sparred[0].payload["step"]
        assert all(m["role"] != "assistant" for m in lines[0]["messages"][:-1]), "a wrong answer must not be trained"
        # The player's own quest (no skill) is tested by the checkpoint that trained it: ten of its
        # lines, and the five distinct lines held out of training before the battle.
        sums = next(q for q in await store.quests.list() if q.name == "sums.jsonl")

        async def tested():
            return await store.events.since(0, kinds=(EventKind.QUEST_TESTED,))

        test = (await wait_until(tested, 300, "the player's quest tested"))[0].payload
        assert test["quest_id"] == sums.id and test["seen"]["total"] == 10 and test["held_out"]["total"] == 5
        assert 0 <= test["seen"]["exact"] <= 10 and 0.0 <= test["seen"]["similarity"] <= 1.0
        assert test["step"] == (await store.quests.get(sums.id)).steps_done  # the first quest: global = job steps
        sums = await store.quests.get(sums.id)
        path = save.root / sums.path
        held = path.with_name(path.name + ".heldout.jsonl").read_text().splitlines()
        trained = path.with_name(path.name + ".train.jsonl").read_text().splitlines()
        assert len(held) == 5 and len(trained) == 595 and not set(held) & set(trained)
        assert sums.validation["held_out"] == 5
        # On demand: `realm spar` against a chosen checkpoint prints its score and queues what it got wrong.
        await on_demand_sparring_and_tasks(save, store, step, client_info=(url, key))
    finally:
        await store.close()
        daemon.stop()


def realm(save, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args, "--save", str(save.root)],
                          capture_output=True, text=True, timeout=600)


async def on_demand_sparring_and_tasks(save, store, step: int, client_info: tuple[str, str]) -> None:
    out = realm(save, "spar", "--checkpoint", str(step), "--skill", "bin", "--level", "1", "--count", "3")
    assert out.returncode == 0, out.stderr
    score = re.match(rf"checkpoint-{step}: (\d)/3 bin L1 right", out.stdout)
    assert score, out.stdout
    bouts = [e.payload for e in await store.events.since(0, kinds=(EventKind.SPARRING,)) if e.payload.get("kind") == "on demand"]
    assert bouts == [{"step": step, "skill": "bin", "level": 1, "problems": 3, "wrong": 3 - int(score.group(1)),
                      "kind": "on demand"}]
    base = realm(save, "vault", "load", "base")  # this remote node was started without --base-dir
    assert base.returncode != 0 and "has no base model" in base.stderr and "--base-dir" in base.stderr, base.stderr
    missing = realm(save, "spar", "--checkpoint", "999999")
    assert missing.returncode != 0 and "no checkpoint-999999 in the vault" in missing.stderr
    # A task run now: the daily round against the deployed champion, one bout per enabled skill.
    out = realm(save, "tasks", "run", "sparring_round")
    assert out.returncode == 0, out.stderr
    deployed = await store.meta.deployed_step()
    assert out.stdout.startswith("sparring_round: ok: ") and f"checkpoint-{deployed}: " in out.stdout
    assert " bin L" in out.stdout and " sy L" in out.stdout
    out = realm(save, "tasks", "run", "model_warmup")
    assert out.returncode == 0 and "model_warmup: ok: " in out.stdout, out.stderr
    out = realm(save, "tasks", "run", "no_such_task")
    assert out.returncode != 0 and "no background task named 'no_such_task'" in out.stderr
    tasks = {t["name"]: t for t in json.loads(realm(save, "tasks", "--json").stdout)}
    assert {"health_check", "validate_queue", "vault_scan", "model_warmup", "lineage_report",
            "sparring_round"} <= set(tasks)
    assert tasks["sparring_round"]["runs"] >= 1 and tasks["sparring_round"]["resource"] == "host"
    assert tasks["sparring_round"]["next_run_at"] > tasks["sparring_round"]["last_run_at"]
    # The node reports how busy its machine is, for the task master's threshold.
    client = OracleClient(*client_info)
    try:
        info = await client.info()
    finally:
        await client.aclose()
    assert 0.0 <= info["utilisation"]["cpu_percent"] <= 100.0
