"""One daemon per save slot: an exclusive flock on run/daemon.lock holding the PID."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from backend.errors import UserFacingError


def try_flock(path: Path, mode: int = os.O_RDWR | os.O_CREAT) -> int | None:
    """An open descriptor holding an exclusive flock on `path`, or None when another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, mode, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class DaemonLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise, naming the PID that holds it."""
        fd = try_flock(self.path)
        if fd is None:
            pid = read_pid(self.path)
            raise UserFacingError(
                f"a daemon is already running for this save (pid {pid})",
                where=str(self.path.parent.parent),
                fix="use `realm daemon status`, or `realm daemon stop` first",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def holder(path: Path) -> int | None:
    """The PID holding the lock, or None when no daemon holds it."""
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_pid(path) or -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
