"""The next battle's engine, started while the current one trains (engine/standby.py).

Its imports (2-4 s of a battle's start on the CPU) are then done by the time the quest
begins. It is spawned when the daemon starts (for the first battle) and once the running
engine has made its first step, handed over at the next battle's start, and discarded when
the player pauses, when no quest came for `daemon.engine_standby_idle_s`, when the battles stop or need torchrun
(several devices: a fresh engine per battle there). If it died meanwhile, the battle
spawns a fresh engine as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from backend.daemon.engine_guard import stop_with_parent
from contracts.engine_handover import send_job

log = logging.getLogger("realm.daemon.engine")


class EngineStandby:
    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self.sock: socket.socket | None = None

    async def spawn(self, stdout_limit: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        stderr = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "engine", "standby", "--fd", str(theirs.fileno()),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr, limit=stdout_limit,
                env={**os.environ, "PYTHONUNBUFFERED": "1"}, pass_fds=(theirs.fileno(),), preexec_fn=stop_with_parent)
            self.sock = ours
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            stderr.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self.sock is not None

    def hand_over(self, job_file: Path, log_file: Path, lock_fd: int | None) -> asyncio.subprocess.Process | None:
        """Give the warm engine its job; its process, or None when it is gone (spawn a fresh one)."""
        if not self.alive:
            return None
        assert self.sock is not None
        try:
            send_job(self.sock, job_file, log_file, lock_fd)
        except OSError as exc:
            log.info("the warm engine is gone (%s); a fresh one starts", exc)
            return None
        finally:
            self.sock.close()
            self.sock = None
        proc, self.proc = self.proc, None
        return proc

    async def discard(self) -> None:
        """End it: it holds nothing yet (no job, no lock), so SIGTERM, which it does not catch."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        for signal_it in (proc.terminate, proc.kill):
            with contextlib.suppress(ProcessLookupError):
                signal_it()
                os.kill(proc.pid, signal.SIGCONT)  # a stopped process sees SIGTERM only once it runs
            try:
                await asyncio.wait_for(proc.wait(), 10.0)
                return
            except TimeoutError:
                continue
