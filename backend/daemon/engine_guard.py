"""Keeping one engine per save, even across a daemon killed with SIGKILL.

The daemon takes an exclusive flock on run/engine.lock and hands the descriptor
to the engine it starts. The lock lives as long as any holder: if the daemon dies,
the engine keeps it until it has saved and exited (it also gets SIGTERM, i.e.
'stop', through PR_SET_PDEATHSIG on Linux). A new daemon waits for that lock
before starting another engine.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

from backend.daemon.lock import try_flock

PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the daemon dies (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EngineLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        self.fd = try_flock(self.path)
        return self.fd is not None

    async def acquire(self, timeout_s: float, on_wait: object = None) -> bool:
        """Wait (polling) for an engine left by a previous daemon to finish."""
        end = time.monotonic() + timeout_s
        warned = False
        while not self.try_acquire():
            if time.monotonic() >= end:
                return False
            if on_wait and not warned:
                warned = True
                await on_wait()  # type: ignore[operator]
            await asyncio.sleep(0.5)
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
