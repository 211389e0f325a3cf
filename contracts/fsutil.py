"""Durable file-system steps shared by the engine, the node and the daemon (stdlib only)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new entry in `path` durable; quiet where the platform cannot."""
    try:
        fd = os.open(Path(path), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def folder_size(path: str | os.PathLike[str]) -> int:
    """Bytes of the files directly in a folder (a checkpoint, a model folder)."""
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())
