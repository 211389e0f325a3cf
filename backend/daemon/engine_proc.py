"""The engine subprocess: `python -m engine run JOB.json`, JSON-lines events on
stdout, control lines on stdin, stderr to a log file."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from backend.daemon.engine_guard import stop_with_parent
from contracts.engine_events import ErrorEvent, Event, EventParseError, ResultEvent, TrainingResult, parse_event
from contracts.engine_job import EngineJob

log = logging.getLogger("realm.daemon.engine")
STDOUT_LIMIT = 1 << 24


class EngineProcess:
    def __init__(self, job: EngineJob, job_file: Path, log_file: Path) -> None:
        self.job = job
        self.job_file = job_file
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self.result: TrainingResult | None = None
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.exit_code: int | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, lock_fd: int | None = None) -> None:
        """Spawn the engine; `lock_fd` (run/engine.lock) is inherited and held by it."""
        self.job_file.parent.mkdir(parents=True, exist_ok=True)
        self.job_file.write_text(self.job.model_dump_json(indent=2, by_alias=True), encoding="utf-8")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        stderr = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "engine", "run", str(self.job_file),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
                limit=STDOUT_LIMIT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                pass_fds=(lock_fd,) if lock_fd is not None else (), preexec_fn=stop_with_parent,
            )
        finally:
            stderr.close()

    async def send(self, command: str) -> bool:
        """Write one control line (pause, resume, checkpoint, stop); False if the engine is gone."""
        if self.proc is None or self.proc.stdin is None or self.proc.returncode is not None:
            return False
        try:
            self.proc.stdin.write(f"{command}\n".encode())
            await self.proc.stdin.drain()
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    async def events(self, handle: Callable[[Event], Awaitable[None]]) -> TrainingResult | None:
        """Feed every event to `handle` until stdout closes; return the result (None if
        the engine died without one), with exit_code set."""
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            if not raw.strip():
                continue
            try:
                event = parse_event(raw)
            except EventParseError as exc:
                log.warning("%s", exc)
                continue
            if isinstance(event, ErrorEvent):
                self.last_error_code = event.code
                self.last_error = event.message + (f" (fix: {event.fix})" if event.fix else "")
            if isinstance(event, ResultEvent):
                self.result = event.to_result()
            await handle(event)
        self.exit_code = await self.proc.wait()
        return self.result

    async def terminate(self, grace_s: float = 120.0) -> None:
        """Ask politely (stop = checkpoint and exit), then SIGTERM, then SIGKILL."""
        if self.proc is None or self.proc.returncode is not None:
            return
        await self.send("stop")
        for sig, wait in ((None, grace_s), (signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
            if sig is not None and self.proc.returncode is None:
                self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), wait)
                return
            except TimeoutError:
                continue

    def crash_reason(self) -> str:
        code = self.exit_code
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"the engine ended without a result ({how})" + (f": {self.last_error}" if self.last_error else "") + \
            f"; see {self.log_file}"
