"""'While you were away': what happened since the player last looked (and, once, what a
database restore did)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class AwayScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,space", "close", "Close")]

    def __init__(self, lines: list[str], title: str = "While you were away") -> None:
        super().__init__()
        self.lines = lines
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="away"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(id="away-scroll"):
                yield Static("\n".join(self.lines), id="away-lines", markup=False)
            yield Label("enter to continue", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#away-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
