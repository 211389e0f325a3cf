"""realm doctor: every check says what it found and, when something is wrong, the fix."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from backend.config import check_config
from backend.daemon.control import log_path, running_pid
from backend.fmt import fmt_bytes
from backend.http_client import ServiceError
from backend.oracle import OracleClient
from backend.slot import SaveSlot
from backend.store.integrity import check_integrity
from contracts.checkpoint import list_complete, stale_temp_folders

def engine_probe_cmd(slot: SaveSlot) -> list[str]:
    """`python -m engine probe` with the save's trainer device, precision and attention."""
    config, _ = check_config(slot.config_path)
    if config is None:
        return [sys.executable, "-m", "engine", "probe"]
    t = config.training
    return [sys.executable, "-m", "engine", "probe", "--device", config.hosts.trainer.device,
            "--precision", t.precision, "--attention", t.attention]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn_only: bool = False


def check_config_file(slot: SaveSlot) -> Check:
    config, problems = check_config(slot.config_path)
    if config is None:
        return Check("config", False, f"{len(problems)} problem(s), first: {problems[0].render()}", "run `realm config check` and fix each key it names")
    return Check("config", True, f"{slot.config_path} is valid")


def check_disk(slot: SaveSlot, min_free_gb: float) -> Check:
    usage = shutil.disk_usage(slot.root)
    ok = usage.free >= min_free_gb * 1024**3
    return Check("disk", ok, f"{fmt_bytes(usage.free)} free of {fmt_bytes(usage.total)}",
                 f"free space or lower retention.keep_last (below {min_free_gb} GB battles pause)")


def check_database(slot: SaveSlot) -> Check:
    ok, detail = check_integrity(slot.db_path)
    return Check("database", ok, f"integrity_check: {detail}",
                 "start the daemon: it sets a damaged database aside and restores the newest backup")


def check_daemon(slot: SaveSlot) -> Check:
    pid = running_pid(slot)
    if pid:
        return Check("daemon", True, f"running, pid {pid}")
    return Check("daemon", False, "not running", f"`realm daemon start` (log: {log_path(slot)})", warn_only=True)


def check_engine(slot: SaveSlot) -> tuple[Check, dict]:
    try:
        out = subprocess.run(engine_probe_cmd(slot), capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return Check("engine", False, "importing the engine took over 120 s", "check the machine's load and disk"), {}
    if out.returncode != 0:
        return Check("engine", False, f"cannot import the engine: {out.stderr.strip().splitlines()[-1:]}",
                     "reinstall: bash scripts/setup.sh"), {}
    import json

    facts = json.loads(out.stdout.strip().splitlines()[-1])
    return Check("engine", True, f"torch {facts['torch']}, transformers {facts['transformers']}"), facts


def check_gpu(facts: dict) -> Check:
    if not facts:
        return Check("gpu", False, "unknown (the engine did not import)", "fix the engine first", warn_only=True)
    if facts.get("cuda"):
        return Check("gpu", True, ", ".join(
            f"{g['index']}: {g['name']} (compute {'.'.join(map(str, g['capability']))}, "
            f"{fmt_bytes(g['memory_bytes'])})" for g in facts["gpus"]))
    return Check("gpu", True, "no CUDA GPU: nano DIO trains on the CPU (the embedded default)", warn_only=True)


def check_attention(facts: dict) -> Check:
    """What training will run with, from the save's settings; an impossible choice fails here
    rather than at the first battle."""
    if not facts:
        return Check("training", False, "unknown (the engine did not import)", "fix the engine first", warn_only=True)
    if facts.get("error"):
        return Check("training", False, facts["error"], "change training.precision / training.attention or "
                     "hosts.trainer.device in realm.yaml (`realm config edit`)")
    detail = f"{facts['attention']} attention, {facts['precision']} on {facts['device']}"
    flash_error = facts.get("flash_attn_error")
    if facts.get("cuda") and facts["attention"] != "flash_attention_2" and flash_error:
        return Check("training", True, f"{detail}; flash-attn does not import ({flash_error})",
                     "optional and faster on CUDA: bash scripts/setup.sh gpu (builds flash-attn against the "
                     "installed torch)", warn_only=True)
    return Check("training", True, detail)


async def check_node(slot: SaveSlot) -> Check:
    config, _ = check_config(slot.config_path)
    if config is None:
        return Check("inference node", False, "config invalid", "fix the config first")
    client = OracleClient.from_config(slot, config)
    try:
        health = await client.health()
        models = await client.models()
        return Check("inference node", True, f"{client.client.settings.base_url}: {health.get('status', 'ok')}, {len(models)} model(s) loaded")
    except ServiceError as exc:
        local = config.hosts.inference.url == "local"
        fix = "the daemon starts the local node: `realm daemon start`" if local else \
            f"start `realm-node` on the inference host and check {config.hosts.inference.api_key_env}"
        return Check("inference node", False, str(exc), fix, warn_only=local)
    finally:
        await client.aclose()


def check_checkpoint_folders(slot: SaveSlot) -> Check:
    """Unfinished .tmp saves, and complete checkpoints the save's table does not list."""
    temps = stale_temp_folders(slot.checkpoints_dir)
    complete = list_complete(slot.checkpoints_dir)
    listed: set[int] = set()
    if slot.db_path.is_file() and check_integrity(slot.db_path)[0]:
        conn = sqlite3.connect(f"file:{slot.db_path}?mode=ro", uri=True, timeout=10)
        try:
            listed = {int(r[0]) for r in conn.execute("SELECT step FROM checkpoints WHERE deleted_at IS NULL")}
        except sqlite3.DatabaseError:
            listed = set()
        finally:
            conn.close()
    unlisted = sorted(ledger.step for _, ledger in complete if ledger.step not in listed)
    problems = []
    if temps:
        size = sum(p.stat().st_size for t in temps for p in t.rglob("*") if p.is_file())
        problems.append(f"{len(temps)} unfinished save folder(s) ({fmt_bytes(size)}): {', '.join(t.name for t in temps[:3])}")
    if unlisted:
        problems.append(f"{len(unlisted)} complete checkpoint(s) not listed by the save (step "
                        f"{', '.join(map(str, unlisted[:5]))})")
    if problems:
        return Check("checkpoints", False, "; ".join(problems),
                     "start the daemon (`realm daemon start`): it records the unlisted checkpoints and removes the "
                     "unfinished folders, with an event for each", warn_only=True)
    return Check("checkpoints", True, f"{len(complete)} complete checkpoint folder(s), every one listed")


def check_memory(slot: SaveSlot) -> Check:
    from backend.memory_admission import battle_admission

    config, _ = check_config(slot.config_path)
    if config is None:
        return Check("memory", False, "config invalid", "fix the config first")
    admission = battle_admission(slot, config)
    if admission.ok:
        return Check("memory", True, admission.detail, warn_only=admission.free is None)
    return Check("memory", False, admission.detail, "; ".join(admission.fixes))


def check_storage(slot: SaveSlot) -> list[Check]:
    """Each storage zone (hosts.storage): the folder is there and writable."""
    from backend.hosts import probe_storage, registry

    config, _ = check_config(slot.config_path)
    if config is None:
        return []
    return [Check(f"storage {s.entry.name}", s.ok, f"{s.entry.address}: {s.status}", s.fix)
            for s in (probe_storage(e) for e in registry(slot, config) if e.role == "storage")]


async def check_named_nodes(slot: SaveSlot) -> list[Check]:
    """Each node of hosts.nodes answers with its key."""
    from backend.hosts import probe_node, registry

    config, _ = check_config(slot.config_path)
    if config is None:
        return []
    named = [e for e in registry(slot, config) if e.role == "inference" and e.name in config.hosts.nodes]
    found = [await probe_node(slot, config, e) for e in named]
    return [Check(f"node {s.entry.name}", s.ok, f"{s.entry.address}: {s.status}", s.fix) for s in found]


CHECK_TIMEOUT_S = 30.0  # any one check; the engine probe (it imports torch) gets ENGINE_TIMEOUT_S
ENGINE_TIMEOUT_S = 120.0


async def timed_check(name: str, work: Any, timeout_s: float = CHECK_TIMEOUT_S) -> Any:
    """One check in a thread (or a coroutine), failed rather than waited on past timeout_s."""
    try:
        if asyncio.iscoroutine(work):
            return await asyncio.wait_for(work, timeout_s)
        return await asyncio.wait_for(asyncio.to_thread(work), timeout_s)
    except TimeoutError:
        return Check(name, False, f"no answer within {timeout_s:.0f} s", "check the machine's load, disk and network")


async def run_checks(slot: SaveSlot, min_free_gb: float) -> list[Check]:
    """Every check at once (the engine probe, which imports torch, sets the pace), each with a timeout."""
    engine_probe = asyncio.create_task(timed_check("engine", lambda: check_engine(slot), ENGINE_TIMEOUT_S))
    quick = await asyncio.gather(
        timed_check("config", lambda: check_config_file(slot)),
        timed_check("disk", lambda: check_disk(slot, min_free_gb)),
        timed_check("database", lambda: check_database(slot)),
        timed_check("daemon", lambda: check_daemon(slot)),
        timed_check("checkpoints", lambda: check_checkpoint_folders(slot)),
        timed_check("memory", lambda: check_memory(slot)),
        timed_check("inference node", check_node(slot)),
        timed_check("storage", lambda: check_storage(slot)),
        timed_check("nodes", check_named_nodes(slot)),
    )
    probed = await engine_probe
    engine, facts = probed if isinstance(probed, tuple) else (probed, {})
    config, disk, database, daemon, folders, memory, node, storage, nodes = quick
    zones = storage if isinstance(storage, list) else [storage]
    others = nodes if isinstance(nodes, list) else [nodes]
    return [config, disk, database, daemon, folders, engine, check_gpu(facts), check_attention(facts), memory, node,
            *others, *zones]
