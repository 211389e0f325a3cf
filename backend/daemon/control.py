"""realm daemon start|stop|status: detach, signal and observe the daemon process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from backend.daemon.lock import holder
from backend.slot import SaveSlot


def lock_path(slot: SaveSlot) -> Path:
    return slot.run_dir / "daemon.lock"


def log_path(slot: SaveSlot) -> Path:
    return slot.logs_dir / "daemon.log"


def out_path(slot: SaveSlot) -> Path:
    """What the detached daemon writes outside logging (a crash before its log is set up)."""
    return slot.logs_dir / "daemon.out"


def running_pid(slot: SaveSlot) -> int | None:
    return holder(lock_path(slot))


@dataclass(frozen=True)
class StartResult:
    pid: int | None
    already_running: bool
    error: str | None = None


def spawn_detached(slot: SaveSlot) -> subprocess.Popen[bytes]:
    """A new session, no terminal: survives SSH going away. It logs to logs/daemon.log itself
    (rotated); stray output goes to logs/daemon.out."""
    slot.logs_dir.mkdir(parents=True, exist_ok=True)
    log = open(out_path(slot), "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "daemon", "run", "--save", str(slot.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=str(slot.root),
        )
    finally:
        log.close()


def start(slot: SaveSlot, wait_s: float = 30.0) -> StartResult:
    """Start the daemon unless one runs; wait until it holds its lock."""
    pid = running_pid(slot)
    if pid:
        return StartResult(pid, True)
    proc = spawn_detached(slot)
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        pid = running_pid(slot)
        if pid and pid == proc.pid:
            return StartResult(pid, False)
        if proc.poll() is not None:
            return StartResult(None, False, f"the daemon exited at once (code {proc.returncode}); see "
                                            f"{out_path(slot)}:\n{tail(out_path(slot)) or tail(log_path(slot))}")
        time.sleep(0.05)
    return StartResult(proc.pid, False, f"the daemon did not report in {wait_s:.0f}s; see {log_path(slot)}")


def stop(slot: SaveSlot, timeout_s: float = 180.0, progress: callable = None) -> tuple[bool, int | None]:  # type: ignore[valid-type]
    """SIGTERM: the daemon checkpoints the battle and exits. (stopped, pid)."""
    pid = running_pid(slot)
    if not pid or pid < 0:
        return False, None
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout_s
    next_note = time.monotonic() + 5
    while time.monotonic() < end:
        if running_pid(slot) is None:
            return True, pid
        if progress and time.monotonic() >= next_note:
            progress(f"waiting for pid {pid} to save a checkpoint and exit…")
            next_note += 5
        time.sleep(0.1)
    return False, pid


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
