"""The event log ('chronicle'): one line per event with its icon, newest at the bottom.
New events are appended; lines already shown are never redrawn. It follows the newest event,
also across a resize, unless the player scrolled up to read; scrolling back to the end
follows again."""

from __future__ import annotations

from rich.text import Text
from textual import events
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
        self.following = True

    def show(self, lines: tuple[ChronicleLine, ...]) -> None:
        for line in lines:
            if line.id <= self.last_id:
                continue
            self.last_id = line.id
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(clock(line.ts) + " ", style="dim")
            text.append(icon_for(line.kind) + " ")
            text.append(line.text)
            self.write(text, scroll_end=self.following)

    def on_resize(self, _event: events.Resize) -> None:
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _player_scrolled(self) -> None:
        """Where the scroll is going (an animated scroll has not arrived yet): the end means follow."""
        self.following = self.scroll_target_y >= self.max_scroll_y

    def action_scroll_up(self) -> None:
        super().action_scroll_up()
        self._player_scrolled()

    def action_scroll_down(self) -> None:
        super().action_scroll_down()
        self._player_scrolled()

    def action_page_up(self) -> None:
        super().action_page_up()
        self._player_scrolled()

    def action_page_down(self) -> None:
        super().action_page_down()
        self._player_scrolled()

    def action_scroll_home(self) -> None:
        super().action_scroll_home()
        self._player_scrolled()

    def action_scroll_end(self) -> None:
        super().action_scroll_end()  # it arrives after a refresh
        self.following = True

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        super()._on_mouse_scroll_up(event)
        self._player_scrolled()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        super()._on_mouse_scroll_down(event)
        self._player_scrolled()
