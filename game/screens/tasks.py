"""The daemon's background tasks (from the Guild): what each does, when it last ran, when it
runs next and its result; Enter runs the chosen one now."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from backend.command_kinds import CommandKind
from game.data.tasks import NEEDS, TaskRow, now, read_tasks
from game.render import clip
from game.screens.base import DataView


class TasksScreen(ModalScreen[None], DataView):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "run_now", "Run now", priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[TaskRow, ...] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="tasks-dialog"):
            yield Label("Background tasks", classes="dialog-title")
            table: DataTable[Any] = DataTable(id="tasks-table", cursor_type="row", zebra_stripes=True)
            table.styles.max_height = 14
            table.styles.height = "auto"
            yield table
            yield Static("", id="task-detail")
            yield Label("↑↓ choose · enter run it now · esc close", classes="hint")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Task", "Needs", "Runs", "Last run", "Next", "Result")
        self.query_one(DataTable).focus()
        self.app.call_later(self.refresh_data)

    async def refresh_data(self) -> None:
        app: Any = self.app
        if app.store is None:
            return
        rows = await read_tasks(app.store)
        if rows == self.rows:
            return
        self.rows = rows
        table = self.query_one(DataTable)
        at, cursor = now(), table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(r.name, NEEDS.get(r.resource, r.resource), str(r.runs), r.last_text(at), r.next_text(at),
                          clip(r.result_text(), 40))
        if not rows:
            table.add_row("—", "", "", "", "", "none yet: they appear once the daemon has run")
        table.move_cursor(row=min(cursor, max(len(rows) - 1, 0)))
        self.show_detail(table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.cursor_row)

    def show_detail(self, row: int) -> None:
        detail = self.query_one("#task-detail", Static)
        if not self.rows or not 0 <= row < len(self.rows):
            detail.update("")
            return
        r = self.rows[row]
        text = Text()
        text.append(f"{r.name}", style="bold")
        text.append(f" · needs {NEEDS.get(r.resource, r.resource)}\n")
        text.append(r.description + "\n", style="dim")
        text.append("Result  ", style="bold")
        text.append(r.result_text())
        detail.update(text)

    def action_run_now(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if not self.rows or not 0 <= row < len(self.rows):
            return
        name = self.rows[row].name
        self.notify(f"{name} runs now; its result shows here when it ends.", title="Task")
        self.app.send(CommandKind.TASK_RUN, {"name": name}, done="{task}: {outcome}")  # type: ignore[attr-defined]

    def action_close(self) -> None:
        self.dismiss(None)
