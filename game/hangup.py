"""Leaving cleanly when the terminal goes away (SSH drop, SIGHUP) or on SIGTERM.

The daemon is detached and keeps training; the app only has to exit instead of
spinning on a dead terminal. Besides the signals, the data watch asks `check()`
on every poll whether stdin has hung up. If shutting down stalls (writes to a
dead terminal can block), a watchdog thread ends the process after a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
from typing import Any

WATCHDOG_S = 5.0
HANGUP_EVENTS = select.POLLHUP | select.POLLERR | select.POLLNVAL


class HangupGuard:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.installed: list[int] = []
        self.poller: select.poll | None = None
        self.hung_up = False
        self.reason = ""

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.hang_up, signal.Signals(sig).name)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            if os.isatty(0):
                self.poller = select.poll()
                self.poller.register(0, 0)  # HUP / ERR / NVAL are always reported
        except OSError:
            self.poller = None

    def uninstall(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for sig in self.installed:
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        self.installed.clear()

    def check(self) -> None:
        if self.poller is None or self.hung_up:
            return
        try:
            events = self.poller.poll(0)
        except OSError:
            return
        if any(ev & HANGUP_EVENTS for _, ev in events):
            self.hang_up("terminal hung up")

    def hang_up(self, reason: str) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        self.reason = reason
        watchdog = threading.Timer(WATCHDOG_S, os._exit, (0,))
        watchdog.daemon = True
        watchdog.start()
        try:
            self.app.mark_seen()  # (nothing to save before the save is open)
        finally:
            self.app.exit(0)
