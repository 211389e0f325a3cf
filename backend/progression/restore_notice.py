"""What a database restore did, in the player's words: shown by `realm status` and, once, by
the TUI at start. Built from the event log: the `database_restored` event and what the daemon
recorded again from disk after it (quest files, checkpoints)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.event_kinds import EventKind

RECOVERY_CODES = ("checkpoints_recorded", "checkpoints_reconciled", "quests_recovered", "temp_checkpoint_removed")
SHOWN_FOR_S = 7 * 24 * 3600  # realm status mentions a restore for a week


@dataclass(frozen=True)
class RestoreNotice:
    event_id: int
    ts: float
    reason: str
    backup: str | None
    lost: str
    recovered: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        when = datetime.fromtimestamp(self.ts).strftime("%Y-%m-%d %H:%M")
        head = (f"On {when} the save's database could not be used ({self.reason}); "
                + (f"the backup {self.backup} was restored." if self.backup else "no good backup existed: a new history began."))
        return [head, f"Lost: {self.lost}.",
                *(f"Recovered from disk: {r}" for r in self.recovered)]


def restore_notice(events: Sequence[Any]) -> RestoreNotice | None:
    """The newest restore and the recovery the daemon reported after it (None: never restored)."""
    restored = next((e for e in reversed(events) if e.kind == EventKind.DATABASE_RESTORED), None)
    if restored is None:
        return None
    p = restored.payload
    recovered = tuple(str(e.payload.get("message")) for e in events if e.id > restored.id and e.kind == EventKind.WARNING
                      and e.payload.get("code") in RECOVERY_CODES)
    backup = p.get("backup")
    return RestoreNotice(restored.id, restored.ts, str(p.get("reason") or "damaged"),
                         backup.rsplit("/", 1)[-1] if isinstance(backup, str) else None,
                         str(p.get("lost") or "unknown"), recovered)
