"""What `realm quest add` may take in: a regular file from outside the save (or from its inbox).

A quest is *moved* into the save, so the path must never name something the save owns: its
realm.yaml, its database (moving realm.db away from its -wal file loses the newest writes),
the hero, the checkpoints, the logs or backups. Nor a folder, a device or a FIFO. The CLI
checks before it sends the request, and the daemon checks again before it moves anything.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from backend.errors import UserFacingError
from backend.slot import SaveSlot

DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _save_owning(path: Path) -> Path | None:
    """The save folder that holds `path` (a folder with realm.yaml and realm.db), if any."""
    for folder in path.parents:
        if (folder / "realm.yaml").is_file() and (folder / "realm.db").exists():
            return folder
    return None


def check_intake(slot: SaveSlot, path: Path) -> None:
    """Raise a UserFacingError saying why `path` cannot become a quest; return when it can."""
    if not path.is_absolute():
        raise UserFacingError(f"{path} is not an absolute path", fix="give the full path of the file")
    if not os.path.lexists(path):
        raise UserFacingError(f"{path} does not exist", fix="check the path (nothing was moved)")
    root = slot.root.resolve()
    real = path.parent.resolve() / path.name  # the link itself, in its real folder
    inside = real == root or root in real.parents
    inbox = slot.inbox_dir.resolve()
    if inside and slot.quests_dir.resolve() in real.parents:
        raise UserFacingError(f"{path} is already a quest of this save",
                              fix="use `realm quest retry` or `realm quest priority`")
    if inside and inbox not in real.parents:
        raise UserFacingError(
            f"{path} belongs to the save itself ({root}): only files from outside the save, or from its inbox/, "
            "become quests", where=str(real.relative_to(root)) if real != root else None,
            fix="copy the data to a file outside the save (or into inbox/) and add that copy")
    other = _save_owning(real)
    if other is not None and not inside and (other / "inbox") not in real.parents:
        raise UserFacingError(f"{path} belongs to another save ({other})",
                              fix="copy the data to a file outside that save and add the copy")
    if any(real.name == slot.db_path.name + s for s in DB_SUFFIXES):
        raise UserFacingError(f"{path} looks like a database file, not training data",
                              fix="add a .jsonl file of examples")
    mode = os.lstat(real).st_mode
    if stat.S_ISDIR(mode):
        raise UserFacingError(f"{path} is a folder", fix="add the .jsonl files in it one by one")
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise UserFacingError(f"{path} is not a regular file (a device, FIFO or socket)",
                              fix="write the data to a regular .jsonl file and add that")
