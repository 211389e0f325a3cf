"""What every screen of a mode shares: the mode bar on top, the footer below, and
`refresh_data`, which the app calls when the database changed while it is visible."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from game.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from game.host import RealmHost


class DataView:
    """A screen that shows data from the database. `refresh_data` re-reads what it
    shows and updates only widgets whose data changed."""

    refresh_error_shown = False  # a failing refresh is toasted once per screen, then only logged

    async def refresh_data(self) -> None:  # pragma: no cover - overridden
        return None


class RealmScreen(Screen[Any], DataView):
    MODE = ""

    @property
    def realm(self) -> "RealmHost":
        """The app, as far as screens may know it (game/host.py)."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ModeBar(self.MODE, self.realm.slot.name)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> Iterable[Widget]:  # pragma: no cover - overridden
        return ()

    def on_screen_resume(self) -> None:
        self.realm.screen_resumed(self)
