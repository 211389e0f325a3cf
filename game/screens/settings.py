"""Settings: every value of realm.yaml, validated on edit; locked values shown as
locked; the VRAM calculator (m)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from backend.config.locks import LOCK_META_KEY
from game.data.settings import SettingRow, read_config, setting_rows
from game.render import clip
from game.screens.base import RealmScreen
from game.screens.table_screen import TableScreen
from game.widgets.line import Line
from game.widgets.table import RealmTable

COLUMNS = (("key", "Key"), ("value", "Value"), ("mark", ""), ("about", "About"))
VALUE_WIDTH = 14  # longer values (a list of LoRA targets, a URL) end in "…"; Enter shows them whole


def mark(r: SettingRow) -> str:
    if r.locked:
        return "🔒 locked"
    if r.env:
        return "env"
    return ""


class SettingsScreen(TableScreen, RealmScreen):
    MODE = "settings"
    BINDINGS = [
        Binding("enter", "edit", "Edit", priority=True),
        Binding("m", "vram", "VRAM calculator"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[SettingRow, ...] = ()
        self.lock: dict[str, Any] | None = None
        self.problems: list[str] = []
        self.shown_key: tuple[Any, ...] | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Line("", id="settings-summary", classes="strip")
        yield RealmTable(COLUMNS, id="settings-table")
        yield Line("", id="settings-about", classes="about")  # the highlighted key's whole description

    def on_mount(self) -> None:
        self.query_one(RealmTable).focus()

    async def refresh_data(self) -> None:
        app = self.realm
        if app.store is None:
            return
        lock = await app.store.meta.get(LOCK_META_KEY)
        key = (app.config_mtime_now(), repr(lock))
        if key == self.shown_key:
            return
        self.shown_key = key
        self.lock = lock
        config, problems = read_config(app.slot.config_path, app.environ)
        self.problems = problems
        if config is None:
            config = app.config  # the last good settings stay on screen
        if config is None:
            return
        self.rows = setting_rows(config, lock, app.environ)
        self.query_one(RealmTable).set_rows([(r.key, (r.key, clip(r.value, VALUE_WIDTH), mark(r), clip(r.description, 60))) for r in self.rows])
        summary = str(app.slot.config_path.name)
        summary += f" · {len(problems)} problem(s): realm config check" if problems else " · valid"
        if lock:
            summary += f" · 🔒 hero settings locked since step {lock.get('step', 0)}"
        self.query_one("#settings-summary", Line).set(summary)
        self.show_about()

    def table_rows(self) -> tuple[SettingRow, ...]:
        return self.rows

    def row_key(self, row: SettingRow) -> str:
        return row.key

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_about()

    def show_about(self) -> None:
        """The About column is clipped at 80 columns: the highlighted key's description in full."""
        r = self.selected()
        self.query_one("#settings-about", Line).set(f"{r.key}: {r.description}" if r else "")

    def action_edit(self) -> None:
        r = self.selected()
        if r is None:
            return
        from game.screens.edit_setting import EditSettingScreen

        self.app.push_screen(EditSettingScreen(r, self.lock), lambda _changed: self.realm.poll_now())

    def action_vram(self) -> None:
        from game.screens.vram import VramScreen

        self.app.push_screen(VramScreen())
