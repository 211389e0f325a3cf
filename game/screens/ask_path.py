"""Ask for a folder or a file, with path completion (→ accepts the suggestion)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from game.paths import PathSuggester, check_file, check_folder
from game.widgets.field import Field


class AskPathScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, initial: str = "", *, directories_only: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.initial = initial
        self.directories_only = directories_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.prompt)
            yield Field(self.initial, id="path", suggester=PathSuggester(self.directories_only))
            yield Static("", id="path-error", classes="error")
            yield Label("enter to confirm · → completes · esc cancels", classes="hint")

    def on_mount(self) -> None:
        field = self.query_one("#path", Field)
        field.focus()

    def on_input_submitted(self, event: Field.Submitted) -> None:
        value = event.value.strip()
        problem = check_folder(value) if self.directories_only else check_file(value)
        if problem:
            self.query_one("#path-error", Static).update(problem)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
