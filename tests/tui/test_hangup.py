"""When the terminal goes away (SSH drop: SIGHUP, or the pty closing) or on SIGTERM,
realm-tui exits cleanly and promptly instead of spinning; it remembers what the
player saw. Runs the real app in a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from game.data.state import load_state

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

pytestmark = pytest.mark.timeout(60)


def spawn(save: Path) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 100x30 running realm-tui
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            os.chdir(ROOT)
            env = {k: v for k, v in os.environ.items() if not k.startswith("REALM_")}
            env.update(TERM="xterm-256color", COLUMNS="100", LINES="30")
            os.execve(sys.executable, [sys.executable, "-m", "game.app", "--save", str(save), "--no-daemon"], env)
        finally:
            os._exit(127)
    return pid, fd


def drain(fd: int, buf: bytearray, wait_s: float) -> bool:
    """Read what is there (up to wait_s); False at end of file."""
    import select

    ready, _, _ = select.select([fd], [], [], wait_s)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        return False
    buf.extend(chunk)
    return bool(chunk)


def wait_for_text(fd: int, needle: str, timeout: float = 20.0) -> bytearray:
    buf = bytearray()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not drain(fd, buf, 0.1):
            break
        if needle.encode() in ANSI.sub(b"", bytes(buf)):
            return buf
    raise AssertionError(f"{needle!r} never appeared; screen so far: {ANSI.sub(b'', bytes(buf))[-500:]!r}")


def wait_exit(pid: int, fd: int | None, timeout: float) -> int:
    """The exit status; keeps reading the terminal so the app never blocks on output."""
    end = time.monotonic() + timeout
    buf = bytearray()
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if fd is not None:
            if not drain(fd, buf, 0.05):
                fd = None
        else:
            time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"realm-tui still running {timeout}s after the terminal went away")


@pytest.fixture
def opened(seeded):
    before = load_state(seeded.tui_state_path)
    pid, fd = spawn(seeded.root)
    try:
        wait_for_text(fd, "ATK")  # the Tavern is painted with data
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        raise
    yield seeded, pid, fd, before
    try:
        os.close(fd)
    except OSError:
        pass


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_signal_exits_cleanly(opened, sig) -> None:
    slot, pid, fd, before = opened
    started = time.time()
    os.kill(pid, sig)
    status = wait_exit(pid, fd, 10)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    after = load_state(slot.tui_state_path)
    assert after is not None and after.last_seen_at >= started - 1  # what the player saw is remembered
    assert after.last_seen_event_id == before.last_seen_event_id


def test_terminal_closing_ends_the_app(opened) -> None:
    slot, pid, fd, _ = opened
    os.close(fd)  # the SSH session drops: the pty goes away
    status = wait_exit(pid, None, 10)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
