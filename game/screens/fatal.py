"""The save cannot be opened: say why and how to fix it, then leave."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Label, Static


class FatalScreen(Screen[None]):
    BINDINGS = [Binding("escape,enter,q", "leave", "Quit")]

    def __init__(self, headline: str, detail: str) -> None:
        super().__init__()
        self.headline = headline
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.headline, classes="dialog-title")
            yield Static(self.detail, classes="error", id="fatal-detail", markup=False)
            yield Label("enter to quit", classes="hint")

    def action_leave(self) -> None:
        self.app.exit(1, return_code=1)
