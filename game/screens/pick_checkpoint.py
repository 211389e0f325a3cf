"""Choose one of the checkpoints on disk (newest first), or with `with_base` the hero's base model."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from backend.fmt import fmt_float
from game.render import stamp


BASE = "base"  # what the screen returns when the base model is chosen


class PickCheckpointScreen(ModalScreen[int | str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, only_steps: set[int] | None = None, with_base: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.only_steps = only_steps
        self.with_base = with_base

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(id="checkpoints")
            yield Label("enter to choose · esc cancels", classes="hint")

    async def on_mount(self) -> None:
        app: Any = self.app
        options = self.query_one(OptionList)
        options.styles.max_height = 14
        if app.store is None:
            return
        live = await app.store.checkpoints.live()
        for cp in live:
            if self.only_steps is not None and cp.step not in self.only_steps:
                continue
            node = " · on node" if cp.on_node else ""
            options.add_option(Option(f"checkpoint-{cp.step}  {stamp(cp.created_at)}  loss {fmt_float(cp.train_loss, 3)}{node}",
                                      id=str(cp.step)))
        if self.with_base:
            options.add_option(Option("base model  (DIO before any training: compare with it)", id=BASE))
        if not options.option_count:
            options.add_option(Option("no checkpoint yet", id="none", disabled=True))
        else:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and event.option.id.isdigit():
            self.dismiss(int(event.option.id))
        elif event.option.id == BASE:
            self.dismiss(BASE)

    def action_cancel(self) -> None:
        self.dismiss(None)
