"""Choose one skill."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class PickSkillScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(id="skills")
            yield Label("enter to choose · esc cancels", classes="hint")

    async def on_mount(self) -> None:
        app: Any = self.app
        catalogue = await app.skill_catalogue()
        options = self.query_one(OptionList)
        ids = list(catalogue.cards) or (list(app.config.curriculum.skills) if app.config else [])
        for sid in ids:
            card = catalogue.cards.get(sid)
            options.add_option(Option(f"{card.icon} {card.name} ({sid})" if card else sid.upper(), id=sid))
        if options.option_count:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
