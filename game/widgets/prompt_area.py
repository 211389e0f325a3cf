"""The Oracle's prompt: several lines (an SY puzzle is asked as the skill writes it), Enter sends,
ctrl+j (or shift+enter / alt+enter where the terminal tells them apart) starts a new line. It
reads and writes like the one-line field it replaces (`value`), and it does not blink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = "ctrl+j,shift+enter,alt+enter"


class PromptArea(TextArea):
    BINDINGS = [Binding(NEWLINE_KEYS, "newline", "New line", show=False)]

    @dataclass
    class Submitted(Message):
        area: "PromptArea"
        value: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(soft_wrap=True, tab_behavior="focus", show_line_numbers=False, compact=True,
                         highlight_cursor_line=False, **kwargs)
        self.cursor_blink = False

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")
