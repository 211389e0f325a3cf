"""The champion board: the Vault's checkpoints ranked by the rule that crowns champions, each
with its score and the terms it is made of."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.fmt import fmt_float
from backend.vault.ranking import RULE, BoardEntry, champion_board
from game.screens.base import DataView


def board_text(board: list[BoardEntry], champion: int | None) -> str:
    if not board:
        return "No checkpoint has been evaluated yet: the board fills as evaluations come in."
    lines = []
    for e in board:
        crown = " 👑" if e.step == champion else ""
        lines.append(f"[b]{e.rank:>2}. {escape(e.name)}{crown}[/b]  score {e.score:.2f} · val {fmt_float(e.val_loss, 3)}")
        lines.append(f"    {escape(e.why())}")
    return "\n".join(lines)


class ChampionBoardScreen(ModalScreen[None], DataView):
    BINDINGS = [Binding("escape,enter,c", "close", "Close")]

    def __init__(self) -> None:
        super().__init__()
        self.shown: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="champion-board"):
            yield Label("Champion board", classes="dialog-title")
            yield Static(RULE, classes="hint", id="board-rule")  # wraps at 80 columns
            with VerticalScroll(id="board-scroll"):
                yield Static("", id="board")
            yield Label("esc to close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#board-scroll").focus()
        self.app.call_later(self.refresh_data)

    async def refresh_data(self) -> None:
        app: Any = self.app
        if app.store is None:
            return
        board = await champion_board(app.store)
        champion = await app.store.meta.champion_step()
        key = (tuple(board), champion)
        if key == self.shown:
            return
        self.shown = key
        self.query_one("#board", Static).update(board_text(board, champion))

    def action_close(self) -> None:
        self.dismiss(None)
