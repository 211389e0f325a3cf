"""What the TUI remembers between sessions (slot.tui_state_path): the last event the
player saw (for 'While you were away') and the chosen theme. Not game state."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class TuiState:
    last_seen_event_id: int = 0
    last_seen_at: float | None = None
    theme: str | None = None
    restore_seen_at: float = 0.0  # the newest database restore the player was told about


def load_state(path: Path) -> TuiState | None:
    """The stored state, or None when the player never opened this save (or the file is unreadable)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    try:
        return TuiState(
            last_seen_event_id=int(raw.get("last_seen_event_id", 0)),
            last_seen_at=float(raw["last_seen_at"]) if raw.get("last_seen_at") is not None else None,
            theme=str(raw["theme"]) if raw.get("theme") else None,
            restore_seen_at=float(raw.get("restore_seen_at") or 0.0),
        )
    except (TypeError, ValueError):
        return None


def save_state(path: Path, state: TuiState) -> None:
    """Write atomically; a failure is not worth crashing over (the file is a convenience)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(state), fh)
        os.replace(tmp, path)
    except OSError:
        pass


def seen_now(state: TuiState, event_id: int) -> TuiState:
    state.last_seen_event_id = max(state.last_seen_event_id, event_id)
    state.last_seen_at = time.time()
    return state
