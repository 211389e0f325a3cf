"""The event log ('chronicle'): one line per event with its icon, newest at the bottom.
New events are appended; lines already shown are never redrawn."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from backend.event_kinds import icon_for
from game.data.tavern import ChronicleLine
from game.render import clock

KEEP = 200


class Chronicle(RichLog):
    DEFAULT_CSS = """
    Chronicle { height: 1fr; background: $surface; scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=KEEP, wrap=False, markup=False, highlight=False, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self.last_id = 0
        self.can_focus = True

    def show(self, lines: tuple[ChronicleLine, ...]) -> None:
        for line in lines:
            if line.id <= self.last_id:
                continue
            self.last_id = line.id
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(clock(line.ts) + " ", style="dim")
            text.append(icon_for(line.kind) + " ")
            text.append(line.text)
            self.write(text)
