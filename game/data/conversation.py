"""The Oracle's conversation, kept per save (oracle-chat.json beside tui_state.json) so it comes back after a
restart: each turn with who said it and, for DIO, which checkpoint answered. Written
atomically after every answer; the newest KEEP turns are kept. ctrl+n (New chat) starts over."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

KEEP = 200


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    content: str
    answered_by: str = ""  # assistant turns: "checkpoint-1200 · step 1,200 · sha256 ..."


def chat_path(tui_state_path: Path) -> Path:
    return tui_state_path.with_name("oracle-chat.json")


def load_turns(path: Path) -> list[Turn]:
    """The stored turns; none when there are none or the file is unreadable (it is a convenience)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict) and item.get("role") in ("user", "assistant") and isinstance(item.get("content"), str):
            out.append(Turn(item["role"], item["content"], str(item.get("answered_by") or "")))
    return out[-KEEP:]


def save_turns(path: Path, turns: list[Turn]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([asdict(t) for t in turns[-KEEP:]], fh, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        pass
