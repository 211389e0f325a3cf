"""Control lines on stdin (`pause`, `resume`, `checkpoint`, `stop`) and SIGTERM/SIGINT (= stop).

A daemon thread reads stdin; the training loop polls between steps. End of stdin is not
a command: training goes on (the daemon may close the pipe).
"""

from __future__ import annotations

import queue
import signal
import threading
from typing import TextIO

from contracts.engine_events import CONTROL_COMMANDS


class ControlChannel:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self._signalled = False
        if stream is not None:
            threading.Thread(target=self._read, args=(stream,), name="engine-control", daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in stream:
                cmd = line.strip().lower()
                if cmd:
                    self._queue.put(cmd)
        except (OSError, ValueError):
            return

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT behave like `stop` (the handler only sets a flag)."""

        def handler(signum, frame):  # noqa: ARG001
            self._signalled = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def send(self, command: str) -> None:
        """Queue a command from inside the process (tests, embedding)."""
        self._queue.put(command.strip().lower())

    def poll(self) -> list[str]:
        """Commands received since the last poll (a signal shows up as `stop`)."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if self._signalled:
            self._signalled = False
            out.append("stop")
        return out

    def wait(self, timeout: float) -> list[str]:
        """Block up to `timeout` seconds for at least one command."""
        if not self._signalled:
            try:
                first = self._queue.get(timeout=timeout)
            except queue.Empty:
                return self.poll()
            return [first] + self.poll()
        return self.poll()


def is_known(command: str) -> bool:
    return command in CONTROL_COMMANDS
