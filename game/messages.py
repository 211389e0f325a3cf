"""What the app tells the rest of the game, as typed Textual Messages (posted to the app, seen by
any handler and by tests through `run_test(message_hook=...)`)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class Toasted(Message):
    """A toast was shown to the player."""

    def __init__(self, title: str, text: str, severity: str) -> None:
        super().__init__()
        self.title = title
        self.text = text
        self.severity = severity


class CommandAnswered(Message):
    """The daemon answered a command the player sent (status done | failed), or did not in time (pending)."""

    def __init__(self, command_id: int, kind: str, status: str, result: Any) -> None:
        super().__init__()
        self.command_id = command_id
        self.kind = kind
        self.status = status
        self.result = result
