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
from backend.daemon.engine_standby import EngineStandby
from contracts.engine_events import (
    ErrorEvent,
    Event,
    EventParseError,
    PausedEvent,
    ResultEvent,
    ResumedEvent,
    StepEvent,
    TrainingResult,
    parse_event,
)
from contracts.engine_job import EngineJob

log = logging.getLogger("realm.daemon.engine")
STDOUT_LIMIT = 1 << 24


def engine_command(job_file: Path, devices: int = 1) -> list[str]:
    """`python -m engine run JOB`, under torchrun with one rank per device when there are several
    (`--standalone`: a rendezvous on this machine; rank 0 alone writes events to stdout). torchrun's
    own folder (a rank's error.json when it fails) goes beside the job file, JOB.torchrun/, not a new
    torchelastic_* folder in the system's temporary directory for every battle."""
    run = ["-m", "engine", "run", str(job_file)]
    if devices <= 1:
        return [sys.executable, *run]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(devices),
            "--log-dir", str(job_file.with_suffix(".torchrun")), *run]


class EngineProcess:
    """The watchdog: an engine that says nothing for `silence_s` while it trains (a step event
    comes at least every few seconds; a checkpoint save or a validation pass is much shorter than
    the default 10 minutes), or for `start_s` before its first step (loading a large model), is
    hung: it is killed, and the battle loop restarts it from its newest checkpoint like any
    crash. A paused engine is silent on purpose and never timed."""

    def __init__(self, job: EngineJob, job_file: Path, log_file: Path, silence_s: float = 600.0,
                 start_s: float = 1800.0, devices: int = 1) -> None:
        self.job = job
        self.devices = devices
        self.silence_s = silence_s
        self.start_s = start_s
        self.hung = False
        self.job_file = job_file
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self.result: TrainingResult | None = None
        self.last_error: str | None = None
        self.last_error_code: str | None = None
        self.exit_code: int | None = None
        self.warm = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, lock_fd: int | None = None, standby: EngineStandby | None = None) -> None:
        """Spawn the engine, or hand the job to a warm one; either way it holds `lock_fd`
        (run/engine.lock): inherited, or sent with the job."""
        self.job_file.parent.mkdir(parents=True, exist_ok=True)
        self.job_file.write_text(self.job.model_dump_json(indent=2, by_alias=True), encoding="utf-8")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if standby is not None and self.devices <= 1:
            self.proc = standby.hand_over(self.job_file, self.log_file, lock_fd)
            self.warm = self.proc is not None
            if self.warm:
                return
        stderr = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *engine_command(self.job_file, self.devices),
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
        stepping = paused = False
        while True:
            limit = None if paused else self.silence_s if stepping else self.start_s
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), limit)
            except TimeoutError:
                await self.kill_hung(limit)
                break
            if not raw:
                break
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
            stepping = stepping or isinstance(event, StepEvent)
            paused = isinstance(event, PausedEvent) or (paused and not isinstance(event, ResumedEvent))
            await handle(event)
        self.exit_code = await self.proc.wait()
        return self.result

    async def kill_hung(self, silent_s: float | None) -> None:
        """SIGTERM, then SIGKILL: a hung engine cannot be asked to save (its last checkpoint stands)."""
        self.hung = True
        self.last_error = (f"the engine said nothing for {silent_s:.0f} s (hung); it was stopped, and the battle "
                           "goes on from its newest checkpoint")
        log.warning("engine pid %s: %s", self.pid, self.last_error)
        assert self.proc is not None
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            if self.proc.returncode is None:
                try:
                    self.proc.send_signal(sig)
                except ProcessLookupError:
                    break
                if sig == signal.SIGTERM:
                    try:  # a stopped (SIGSTOP) process only sees SIGTERM once it runs again
                        os.kill(self.proc.pid, signal.SIGCONT)
                    except ProcessLookupError:
                        break
            try:
                await asyncio.wait_for(self.proc.wait(), wait)
                return
            except TimeoutError:
                continue

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
        logs = f"{self.log_file}" + (f" (and, for what it did before its job came, {self.log_file.with_name('engine-standby.log')})"
                                     if self.warm else "")
        return f"the engine ended without a result ({how})" + (f": {self.last_error}" if self.last_error else "") + \
            f"; see {logs}"
