"""What screens, the palette and help may ask of the app: the seam between them and RealmApp.

Screens type `self.realm` as this Protocol, never as the concrete app, so game/ has no
import circle and a screen can be driven by any app that offers these few things.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen

    from backend.config.model import RealmConfig
    from backend.slot import SaveSlot
    from backend.store import Store
    from backend.store.commands import Command
    from game.data.feed import EventFeed


class RealmHost(Protocol):
    slot: "SaveSlot"
    store: "Store | None"  # None until the app opened the save
    config: "RealmConfig | None"
    feed: "EventFeed | None"

    def send(self, kind: str, payload: dict[str, Any] | None = None, *, done: str,
             on_done: "Callable[[Command], None] | None" = None) -> None:
        """Write a command for the daemon; its outcome is toasted."""

    def pause_or_resume(self, paused: bool) -> None: ...

    def confirm_stop(self) -> None: ...

    def screen_resumed(self, screen: "Screen[Any]") -> None: ...

    def poll_now(self) -> None: ...

    def action_help(self) -> None: ...

    def action_switch_save(self) -> None: ...

    def switch_mode(self, mode: str) -> Any: ...

    def push_screen(self, screen: Any, callback: Any = None, wait_for_dismiss: bool = False) -> Any: ...
