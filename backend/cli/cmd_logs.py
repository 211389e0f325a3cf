"""realm logs [daemon|engine|node] [-n N] [--follow]: read the save's logs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from backend.cli.common import add_command, existing_slot
from backend.errors import UserFacingError
from backend.slot import SaveSlot

FOLLOW_POLL_S = 0.5


def register(sub: Any) -> None:
    p = add_command(sub, "logs", cmd_logs, "show the end of the daemon's, the newest engine's or the node's log")
    p.add_argument("which", nargs="?", choices=("daemon", "engine", "node"), default="daemon")
    p.add_argument("-n", "--lines", type=int, default=40, help="lines from the end (default 40)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (ctrl+c to stop)")


def log_file(slot: SaveSlot, which: str) -> Path:
    if which == "daemon":
        return slot.logs_dir / "daemon.log"
    if which == "node":
        return slot.logs_dir / "node.log"
    engines = sorted(slot.logs_dir.glob("engine-quest-*.log"), key=lambda p: p.stat().st_mtime)
    if not engines:
        raise UserFacingError("no engine has run in this save yet", where=str(slot.logs_dir),
                              fix="queue a quest (the engine's log appears when its battle starts)")
    return engines[-1]


def last_lines(path: Path, n: int) -> tuple[list[str], int]:
    """The last n lines and the file's size (where --follow goes on from)."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - max(n, 1) * 400))
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return lines[-n:] if n > 0 else [], size


def cmd_logs(args: argparse.Namespace) -> int:
    path = log_file(existing_slot(args), args.which)
    if not path.exists():
        raise UserFacingError(f"{path.name} does not exist yet", where=str(path.parent),
                              fix="start the daemon (`realm daemon start`); it writes its log there")
    lines, pos = last_lines(path, args.lines)
    print("\n".join(lines), flush=True)
    while args.follow:
        time.sleep(FOLLOW_POLL_S)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size < pos:  # rotated: start at the top of the new file
            pos = 0
        if size > pos:
            with open(path, "rb") as fh:
                fh.seek(pos)
                chunk = fh.read()
            pos += len(chunk)
            print(chunk.decode("utf-8", "replace"), end="", flush=True)
    return 0
