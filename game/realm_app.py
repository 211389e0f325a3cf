"""The Textual application."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from backend.cli.cmd_status import render
from backend.config import load_config
from backend.savegame import init_save
from backend.slot import SaveSlot, resolve_save_path
from backend.store import Store
from backend.views import read_status


class RealmApp(App[int]):
    TITLE = "Realm of Training"
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def __init__(self, save: str | None = None, start_daemon: bool = True) -> None:
        super().__init__()
        self.slot = SaveSlot(resolve_save_path(save))
        self.start_daemon = start_daemon

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="status")
        yield Footer()

    async def on_mount(self) -> None:
        await init_save(self.slot)
        self.store = await Store.open(self.slot.db_path)
        self.config = load_config(self.slot.config_path)
        await self.refresh_status()
        self.set_interval(0.5, self.poll)
        self._version = await self.store.data_version()

    async def poll(self) -> None:
        version = await self.store.data_version()
        if version != self._version:
            self._version = version
            await self.refresh_status()

    async def refresh_status(self) -> None:
        view = await read_status(self.store, self.config)
        self.query_one("#status", Static).update("\n".join(render(view)))

    async def on_unmount(self) -> None:
        await self.store.close()
