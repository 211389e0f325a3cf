"""The inference node as the daemon sees it: a local subprocess it starts,
health-checks and restarts (the embedded default), or a remote host it only
health-checks. Its status goes to the services table for every reader."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.event_kinds import EventKind
from backend.errors import UserFacingError
from backend.gpus import local_node_device, visible_gpu_count
from backend.hero import base_model_ref
from backend.http_client import ServiceError, ServiceHttpError
from backend.oracle import DEFAULT_NODE, OracleClient, node_settings, node_url
from contracts.node_api import model_id_for
from contracts.utilisation import Utilisation

log = logging.getLogger("realm.daemon.node")
SERVICE = "inference_node"
CHECK_EVERY_S = 5.0
START_TIMEOUT_S = 120.0
KEY_ENV = "REALM_NODE_KEY"


def tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port() -> int:
    """A port nothing listens on now (each save's node gets its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_key(ctx: DaemonContext) -> str:
    """The local node's API key, kept in run/node.key (owner-only) for the TUI."""
    path = ctx.slot.run_dir / "node.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def node_base_dir(ctx: DaemonContext) -> Path:
    """The hero's base for the local node: nano's folder in the save, or hero.base_model when it is a
    folder (a LoRA checkpoint is served over it, and only over it)."""
    try:
        ref = Path(base_model_ref(ctx.slot, ctx.config))
    except UserFacingError:
        return ctx.slot.base_model_dir
    return ref if ref.is_dir() else ctx.slot.base_model_dir


class NodeManager(Component):
    name = "node"

    def __init__(self, ctx: DaemonContext) -> None:
        super().__init__(ctx)
        self.proc: asyncio.subprocess.Process | None = None
        self.status = "starting"
        self.utilisation: Utilisation | None = None  # the node's machine, from /models/info (None: not reported)
        self.in_flight = 0
        self.restarts = 0
        self.ups = 0  # times the node came up (a restarted node has nothing loaded)
        self.ready = asyncio.Event()

    @property
    def local(self) -> bool:
        return self.ctx.config.hosts.inference.url == "local"

    def client(self, timeout_s: float = 120.0, node: str | None = None) -> OracleClient:
        """A client of the default node, or of the node of hosts.nodes called `node`."""
        settings = node_settings(self.ctx.slot, self.ctx.config, node)
        return OracleClient(settings.base_url, settings.api_key, timeout_s=timeout_s, retries=settings.retries)

    def reads_trainer_folder(self, node: str | None = None) -> bool:
        """The daemon's own local node reads the save's checkpoints folder: nothing to upload."""
        return self.local and node in (None, DEFAULT_NODE)

    async def ensure_available(self, client: OracleClient, model_id: str, folder: Path, node: str | None = None) -> None:
        """A remote node (the default or a named one) gets the checkpoint uploaded (verified
        against its manifest) when it does not have it; the local node reads the save's
        checkpoints folder itself."""
        if self.reads_trainer_folder(node) or model_id in await client.available():
            return
        started = time.monotonic()
        try:
            result = await client.upload(folder)
        except ServiceHttpError as exc:
            if exc.status == 413:  # it would be refused again every time: tell the player once per model
                await self.ctx.event(EventKind.WARNING, {
                    "source": "node", "code": "upload_too_large", "model": model_id,
                    "message": f"the inference node refused {model_id}: {exc.message}",
                    "fix": "start the node with a larger --max-upload-mb, or give it the checkpoints through a "
                           "shared folder"}, dedupe_key=f"upload_too_large:{model_id}")
            raise
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        await self.ctx.event(EventKind.NODE_STATUS, {"status": "uploaded", "url": node_url(self.ctx.config, self.ctx.slot),
                                                     "detail": f"{model_id}: {result}"[:200], "model": model_id,
                                                     "seconds": round(time.monotonic() - started, 2), "bytes": size})

    async def ensure_available_step(self, row: Any) -> None:
        """ensure_available for a checkpoints-table row."""
        folder = row.folder(self.ctx.slot.root)
        client = self.client(timeout_s=600.0)
        try:
            await self.ensure_available(client, model_id_for(row.step), folder)
        finally:
            await client.aclose()

    async def loaded_ids(self) -> set[str]:
        client = self.client(timeout_s=30.0)
        try:
            return set(await client.model_details())
        finally:
            await client.aclose()

    def busy(self) -> bool:
        """A player is chatting with the node: background work waits."""
        return self.status != "up" or self.in_flight > 0

    async def run(self, ctx: DaemonContext) -> None:
        while not ctx.state.stopping.is_set():
            if self.local and (self.proc is None or self.proc.returncode is not None):
                await self.start_local()
            await self.check()
            if await self.sleep(CHECK_EVERY_S):
                return

    async def start_local(self) -> None:
        ctx = self.ctx
        if self.proc is not None:
            self.restarts += 1
            await ctx.event(EventKind.NODE_STATUS, {"status": "restarting", "url": node_url(ctx.config, ctx.slot),
                                                    "detail": f"exit code {self.proc.returncode}"})
            await self.sleep(min(2.0 * self.restarts, 60.0))
        inference = ctx.config.hosts.inference
        port = inference.port or free_port()
        (ctx.slot.run_dir / "node.port").write_text(f"{port}\n")
        log_file = open(ctx.slot.logs_dir / "node.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "inference_node", "--models-dir", str(ctx.slot.checkpoints_dir),
                "--base-dir", str(node_base_dir(ctx)), "--host", "127.0.0.1", "--port", str(port),
                "--api-key-env", KEY_ENV, "--pool", str(inference.pool), "--exit-with-parent",
                "--device", local_node_device(inference.device, ctx.config.hosts.trainer.device, visible_gpu_count()),
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                env={**os.environ, KEY_ENV: local_key(ctx)},
            )
        finally:
            log_file.close()
        self.status = "starting"
        await ctx.store.services.report(SERVICE, "starting", node_url(ctx.config, ctx.slot), {"pid": self.proc.pid})
        end = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < end and self.proc.returncode is None:
            if await self.check(quiet=True):
                return
            if await self.sleep(0.5):
                return
        if self.proc.returncode is not None:  # it exited at once: say why (port in use, bad folder...)
            await self.set_status("down", {"error": f"the node exited with code {self.proc.returncode}: "
                                                    f"{tail(ctx.slot.logs_dir / 'node.log')}"})

    async def check(self, quiet: bool = False) -> bool:
        client = self.client(timeout_s=10.0)
        try:
            health = await client.health()
            info = await client.info()
            details = {m["id"]: m for m in info.get("models", [])}
            self.utilisation = Utilisation.model_validate(info["utilisation"]) if info.get("utilisation") else None
        except ServiceHttpError as exc:
            if exc.status == 503 and isinstance(exc.body, dict) and exc.body.get("status") == "loading":
                self.in_flight = max(self.in_flight, 1)  # up, busy loading a checkpoint
                await self.set_status("up", {"health": exc.body, "loading": exc.body.get("loading", [])})
                return True
            await self.set_status("starting" if quiet else "down", {"error": str(exc)[:300]})
            return False
        except ServiceError as exc:
            await self.set_status("starting" if quiet else "down", {"error": str(exc)[:300]})
            return False
        finally:
            await client.aclose()
        self.in_flight = sum(int(m.get("in_flight", 0)) for m in details.values())
        await self.set_status("up", {"health": health, "loaded": sorted(details), "in_flight": self.in_flight,
                                     "pid": self.proc.pid if self.proc else None})
        await self.ctx.store.checkpoints.mark_on_node(
            {int(i.split("-")[1]) for i in details if i.startswith("checkpoint-") and i[11:].isdigit()})
        return True

    async def set_status(self, status: str, detail: dict[str, Any]) -> None:
        changed = status != self.status
        self.status = status
        if changed and status == "up":
            self.ups += 1
        if status == "up":
            self.ready.set()
        else:
            self.ready.clear()
        await self.ctx.store.services.report(SERVICE, status, node_url(self.ctx.config, self.ctx.slot), detail)
        if changed and status in ("up", "down"):
            await self.ctx.event(EventKind.NODE_STATUS, {"status": status, "url": node_url(self.ctx.config, self.ctx.slot),
                                                         "detail": str(detail.get("error", ""))[:200]})

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15.0)
            except TimeoutError:
                self.proc.kill()
        await self.ctx.store.services.report(SERVICE, "down", node_url(self.ctx.config, self.ctx.slot), {"reason": "daemon stopped"})
