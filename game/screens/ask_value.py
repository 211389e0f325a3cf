"""Ask for one value, checked before the dialog closes."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from game.widgets.field import Field


class AskValueScreen(ModalScreen[str | None]):
    """`check(value)` returns what is wrong with the value, or None when it is fine;
    it runs as the player types and again on enter."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, initial: str = "", check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.initial = initial
        self.check = check or (lambda _v: None)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.prompt, markup=False)
            yield Field(self.initial, id="value")
            yield Static("", id="value-problem", classes="error")
            yield Label("enter to confirm · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#value", Field).focus()

    def on_input_changed(self, event: Field.Changed) -> None:
        self.query_one("#value-problem", Static).update(self.check(event.value) or "")

    def on_input_submitted(self, event: Field.Submitted) -> None:
        problem = self.check(event.value)
        if problem:
            self.query_one("#value-problem", Static).update(problem)
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
