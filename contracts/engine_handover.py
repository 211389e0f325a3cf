"""Handing a job to a warm engine (`python -m engine standby --fd N`).

One message on a Unix stream socket: JSON with the job file and the battle's log file, and,
as SCM_RIGHTS, the descriptor of run/engine.lock (see backend.daemon.engine_guard), so the
warm engine holds the same lock as one spawned with the descriptor inherited.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

HANDOVER_MAX_BYTES = 1 << 16


@dataclass(frozen=True)
class Handover:
    job: Path
    log: Path | None
    lock_fd: int | None


def send_job(sock: socket.socket, job: Path, log: Path | None, lock_fd: int | None) -> None:
    payload = json.dumps({"job": str(job), "log": str(log) if log else None}).encode("utf-8")
    socket.send_fds(sock, [payload], [lock_fd] if lock_fd is not None else [])


def receive_job(fd: int) -> Handover | None:
    """Block until a job comes; None when the other end closed the socket instead."""
    with socket.socket(fileno=fd) as sock:
        data, fds, _flags, _addr = socket.recv_fds(sock, HANDOVER_MAX_BYTES, 1)
    if not data:
        for extra in fds:
            os.close(extra)
        return None
    message = json.loads(data.decode("utf-8"))
    return Handover(job=Path(message["job"]), log=Path(message["log"]) if message.get("log") else None,
                    lock_fd=fds[0] if fds else None)
