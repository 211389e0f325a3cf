"""Moving quest files between lifecycle folders: atomic, never a copy left behind."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from contracts.fsutil import fsync_dir
from contracts.quest_meta import meta_path_for

UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
DERIVED_SUFFIXES = (".meta.json", ".quarantine.jsonl", ".train.jsonl", ".heldout.jsonl")


def safe_name(name: str, limit: int = 120) -> str:
    """A file-system and terminal safe version of a name (control characters replaced)."""
    cleaned = UNSAFE.sub("_", name).strip("._") or "quest"
    return cleaned[-limit:]


def printable(name: str) -> str:
    """A name as it can be shown in a terminal (control characters escaped)."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)


def move(src: Path, dest: Path) -> Path:
    """Atomic rename; across file systems copy to a temp name in dest's folder, fsync,
    rename, then remove the source. Never follows symlinks; refuses to overwrite."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        raise FileExistsError(f"refusing to overwrite {dest}")
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_then_remove(src, dest)
    fsync_dir(dest.parent)
    return dest


def copy_then_remove(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.moving")
    if src.is_symlink():
        os.symlink(os.readlink(src), tmp)
    elif src.is_dir():
        shutil.copytree(src, tmp, symlinks=True)
    else:
        shutil.copy2(src, tmp, follow_symlinks=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    os.rename(tmp, dest)
    if src.is_dir() and not src.is_symlink():
        shutil.rmtree(src)
    else:
        src.unlink()


def companions(path: Path) -> list[Path]:
    """Sidecars that travel with a quest file (lineage, quarantine, clean training copy)."""
    return [path.with_name(path.name + s) for s in DERIVED_SUFFIXES if path.with_name(path.name + s).exists()]


def free_name(dest: Path) -> Path:
    """`dest`, or `<stem>.2<suffix>`, `.3`, ... when it or one of its sidecars exists."""
    def taken(p: Path) -> bool:
        return p.exists() or p.is_symlink() or any(
            p.with_name(p.name + s).exists() for s in DERIVED_SUFFIXES)

    candidate, n = dest, 1
    while taken(candidate):
        n += 1
        candidate = dest.with_name(f"{dest.stem}.{n}{dest.suffix}")
    return candidate


def move_with_sidecars(src: Path, dest: Path) -> Path:
    """Move a quest file and its sidecars; the quest file moves last, so a crash in
    between leaves the file where the database last saw it."""
    for side in companions(src):
        move(side, dest.with_name(dest.name + side.name[len(src.name):]))
    return move(src, dest)


def sidecar_of(path: Path) -> Path:
    return meta_path_for(path)
