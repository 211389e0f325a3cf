"""'While you were away': what happened since the player last looked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class AwayScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,space", "close", "Close")]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="away"):
            yield Label("While you were away", classes="dialog-title")
            with VerticalScroll(id="away-scroll"):
                yield Static("\n".join(self.lines), id="away-lines", markup=False)
            yield Label("enter to continue", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#away-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
