"""realm-tui: time to the first painted Tavern, resident memory, and CPU used while
idle with the daemon training, each beside a bare Textual app that shows one static
label, measured in the same run.

    python benchmarks/tui.py [--idle-seconds 60] [--starts 3] [--no-daemon] [--size 160x45]

Both apps run in a pseudo-terminal (--size, 160x45 by default: the Tavern's campaign chart is
on screen) as a player would run them. "First
paint" is the time from spawning the process to the terminal showing the hero's
stats (realm-tui: "ATK", drawn once the database has been read) or the label (the
bare app). Memory is the resident set size 2 s after the first paint. Idle CPU is
the process's user + system time over the idle window divided by the window (100 %
= one core). By default a temporary save is created and its daemon started, and
the idle window begins once a battle is under way, so realm-tui idles while the
database changes under it (heartbeats, step metrics, checkpoints); --no-daemon
measures against a quiet save instead. Targets: first paint <= 1.0 s, memory <= 150
MB, idle CPU <= 2 % of one core.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SIZE = (160, 45)  # columns, rows (--size)
sys.path.insert(0, str(ROOT))

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Label\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    "        yield Label('hello realm')\n"
    "Bare().run()\n"
)
TARGETS = {"first_paint_s": 1.0, "rss_mb": 150.0, "idle_cpu_pct": 2.0}


class Terminal:
    """A process in a pseudo-terminal; a thread keeps reading its output (as a terminal would)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
                os.chdir(ROOT)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.alive = True
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        while self.alive:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.buf.extend(chunk)
                del self.buf[:-200_000]

    def wait_for(self, needle: str, timeout: float = 60.0) -> float:
        """Seconds from spawn until `needle` is on screen."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            with self.lock:
                plain = ANSI.sub(b"", bytes(self.buf))
            if needle.encode() in plain:
                return time.perf_counter() - self.started
            time.sleep(0.005)
        raise RuntimeError(f"{needle!r} did not appear within {timeout:.0f} s")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(100):
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.alive = False
        self.reader.join(1)
        os.close(self.fd)


@dataclass
class Figures:
    first_paint_s: float
    rss_mb: float
    idle_cpu_pct: float


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALM_")}
    env.update(TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]))
    return env


def measure(argv: list[str], marker: str, starts: int, idle_s: float) -> Figures:
    paints = []
    for i in range(starts):
        term = Terminal(argv, clean_env())
        try:
            paints.append(term.wait_for(marker))
            if i < starts - 1:
                continue
            time.sleep(2.0)
            proc = psutil.Process(term.pid)
            rss = proc.memory_info().rss / 2**20
            before = proc.cpu_times()
            t0 = time.perf_counter()
            time.sleep(idle_s)
            after = proc.cpu_times()
            wall = time.perf_counter() - t0
            cpu = (after.user - before.user + after.system - before.system) / wall * 100
        finally:
            term.close()
    return Figures(statistics.median(paints), rss, cpu)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(save: Path) -> tuple[object, str]:
    """Start the save's daemon and wait until a battle reports steps; returns (slot, note)."""
    import asyncio

    from backend.config.edit import set_value
    from backend.daemon.control import start
    from backend.savegame import init_save
    from backend.slot import SaveSlot
    from backend.store import Store

    slot = SaveSlot(save)
    asyncio.run(init_save(slot))
    set_value(slot.config_path, "hosts.inference.port", str(free_port()))  # its own node, not another save's
    result = start(slot)
    if result.error:
        return slot, f"daemon could not start: {result.error.splitlines()[0]}"

    async def steps() -> int:
        async with await Store.open(slot.db_path) as store:
            return await store.metrics.last_id()

    end = time.monotonic() + 300
    while time.monotonic() < end:
        if asyncio.run(steps()) > 0:
            return slot, f"daemon pid {result.pid} training"
        time.sleep(1)
    return slot, "daemon started but reported no training step within 300 s"


def battle_summary(slot: object) -> str:
    import asyncio

    from backend.store import Store

    async def read() -> str:
        async with await Store.open(slot.db_path) as store:  # type: ignore[attr-defined]
            metrics = await store.metrics.last_id()
            events = await store.events.last_id()
            return f"{metrics} step-metric rows, {events} events in the save"

    return asyncio.run(read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--starts", type=int, default=3, help="starts per app; the first paint is their median")
    ap.add_argument("--no-daemon", action="store_true", help="idle against a quiet save (no training)")
    ap.add_argument("--size", default="160x45", help="terminal COLSxROWS (from 40 rows the charts show)")
    args = ap.parse_args()
    global SIZE
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    SIZE = (cols, rows)

    tmp = Path(tempfile.mkdtemp(prefix="realm-bench-tui-"))
    save = tmp / "save"
    slot = None
    note = "no daemon (quiet save)"
    if not args.no_daemon:
        slot, note = start_daemon(save)
    else:
        import asyncio

        from backend.savegame import init_save
        from backend.slot import SaveSlot

        asyncio.run(init_save(SaveSlot(save)))
    try:
        versions = f"Python {sys.version.split()[0]}, textual {__import__('textual').__version__}"
        print(f"realm-tui benchmark: {versions}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
              f"{note}; terminal {SIZE[0]}x{SIZE[1]}")
        bare = measure([sys.executable, "-c", BARE_APP], "hello realm", args.starts, args.idle_seconds)
        realm = measure([sys.executable, "-m", "game.app", "--save", str(save), "--no-daemon"], "ATK", args.starts,
                        args.idle_seconds)
        if slot is not None:
            print(f"during the run: {battle_summary(slot)}")
    finally:
        if slot is not None:
            from backend.daemon.control import stop

            stop(slot)  # type: ignore[arg-type]
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print()
    print("| figure | realm-tui | bare Textual app | ratio | target | realm-tui / target |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = (("first paint (s)", "first_paint_s", "{:.2f}"), ("resident memory (MB)", "rss_mb", "{:.0f}"),
            (f"CPU idle over {args.idle_seconds:.0f} s (% of one core)", "idle_cpu_pct", "{:.2f}"))
    for label, key, fmt in rows:
        r, b, t = getattr(realm, key), getattr(bare, key), TARGETS[key]
        ratio = f"{r / b:.2f}x" if b > 0 else "—"
        print(f"| {label} | {fmt.format(r)} | {fmt.format(b)} | {ratio} | {fmt.format(t)} | {r / t:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
