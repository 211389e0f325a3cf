"""The event stream: JSON lines on the process's original stdout, nothing else on it.

`take_over_stdout` keeps a private handle on file descriptor 1 for events and points fd 1
and `sys.stdout` at stderr, so stray prints and C-level writes from libraries land in the
log instead of corrupting the stream.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

from pydantic import BaseModel

from contracts.engine_events import event_to_line


def take_over_stdout() -> TextIO:
    """A text stream on a duplicate of fd 1; fd 1 and sys.stdout now go to stderr."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1, newline="\n")


class EventWriter:
    """Writes one event per line and flushes; safe to call from several threads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, event: BaseModel) -> None:
        line = event_to_line(event)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except BrokenPipeError:  # the reader went away; keep training, events are lost
                pass
