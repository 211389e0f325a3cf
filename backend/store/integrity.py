"""Save integrity: rotating online backups (SQLite backup API), integrity checks,
and setting a damaged database aside (never deleting it) to restore the newest
good backup."""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

BACKUP_PREFIX = "realm-"
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class RestoreReport:
    damaged_reason: str
    moved_to: Path | None  # None when there was no file to set aside (it was missing)
    backup: Path | None
    backup_time: float | None

    def lost(self, now: float | None = None) -> str:
        if self.backup_time is None:
            return "all game history (no good backup existed); checkpoints and quest files on disk are untouched"
        age = (now or time.time()) - self.backup_time
        return f"changes made in the last {int(age // 60)} min (after the backup of {datetime.fromtimestamp(self.backup_time):%Y-%m-%d %H:%M})"

    def payload(self) -> dict[str, Any]:
        return {
            "reason": self.damaged_reason, "moved_to": str(self.moved_to) if self.moved_to else None,
            "backup": str(self.backup) if self.backup else None, "backup_time": self.backup_time,
            "lost": self.lost(),
        }


def check_integrity(path: Path) -> tuple[bool, str]:
    """(ok, detail) from PRAGMA integrity_check; unreadable files are not ok."""
    if not path.exists():
        return False, "missing"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return False, str(exc)
    detail = "; ".join(str(r[0]) for r in rows[:5])
    return detail == "ok", detail


def backup_name(at: float) -> str:
    return f"{BACKUP_PREFIX}{datetime.fromtimestamp(at):%Y%m%d-%H%M%S}.db"


def list_backups(backups_dir: Path) -> list[Path]:
    """Backups, newest first."""
    return sorted(backups_dir.glob(f"{BACKUP_PREFIX}*.db"), key=lambda p: p.name, reverse=True)


def backup_time(path: Path) -> float:
    stamp = path.name.removeprefix(BACKUP_PREFIX).removesuffix(".db")
    try:
        return datetime.strptime(stamp, "%Y%m%d-%H%M%S").timestamp()
    except ValueError:
        return path.stat().st_mtime


def backup_online(db_path: Path, backups_dir: Path, keep: int) -> Path:
    """Copy the live database to a new rotating backup with the SQLite backup API,
    through a connection of its own (WAL: a consistent snapshot while the daemon
    keeps writing). Synchronous: run it in a thread."""
    backups_dir.mkdir(parents=True, exist_ok=True)
    at = time.time()
    final = backups_dir / backup_name(at)
    tmp = final.with_suffix(".db.tmp")
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(str(tmp))
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    tmp.replace(final)
    rotate(backups_dir, keep)
    return final


def rotate(backups_dir: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` backups (old backups are the daemon's own copies)."""
    removed = []
    for old in list_backups(backups_dir)[keep:]:
        old.unlink(missing_ok=True)
        removed.append(old)
    return removed


def set_aside(db_path: Path, damaged_dir: Path) -> Path:
    """Move the database and its WAL/SHM files into damaged_dir; return the new path."""
    damaged_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    moved = damaged_dir / f"{db_path.name}.{stamp}"
    db_path.replace(moved)
    for suffix in SIDE_FILES:
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            side.replace(moved.with_name(moved.name + suffix))
    return moved


def newest_good_backup(backups_dir: Path) -> Path | None:
    for candidate in list_backups(backups_dir):
        if check_integrity(candidate)[0]:
            return candidate
    return None


def _copy_in(backup: Path, db_path: Path) -> None:
    tmp = db_path.with_name(db_path.name + ".restoring")
    shutil.copy2(backup, tmp)
    tmp.replace(db_path)


def restore_if_damaged(db_path: Path, backups_dir: Path) -> RestoreReport | None:
    """When the database fails its integrity check, set it aside and restore the newest
    good backup (or leave no file, so a fresh one is created). None when healthy."""
    if not db_path.exists():
        return None
    ok, detail = check_integrity(db_path)
    if ok:
        return None
    moved = set_aside(db_path, backups_dir / "damaged")
    backup = newest_good_backup(backups_dir)
    if backup is not None:
        _copy_in(backup, db_path)
    return RestoreReport(detail, moved, backup, backup_time(backup) if backup else None)


def restore_if_missing(db_path: Path, backups_dir: Path) -> RestoreReport | None:
    """A save whose database file is gone but which has good backups gets the newest back
    (an empty history never starts silently). None when the file is there or no backup is."""
    if db_path.exists():
        return None
    backup = newest_good_backup(backups_dir) if backups_dir.is_dir() else None
    if backup is None:
        return None
    _copy_in(backup, db_path)
    return RestoreReport("the database file was missing", None, backup, backup_time(backup))
