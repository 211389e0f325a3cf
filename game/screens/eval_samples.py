"""Evaluation samples of one skill: the problem, DIO's answer and the golden answer."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from backend.fmt import fmt_count, fmt_percent
from game.data.guild import read_samples, sample_fields
from game.render import clip
from game.screens.base import DataView


class EvalSamplesScreen(ModalScreen[None], DataView):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, skill: str, title: str) -> None:
        super().__init__()
        self.skill = skill
        self.title_text = title
        self.shown: list[dict[str, Any]] | None = None
        self.details: list[tuple[Any, ...]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="eval-samples"):
            yield Label(f"{self.title_text}: evaluation samples", classes="dialog-title")
            table: DataTable[Any] = DataTable(id="samples", cursor_type="row", zebra_stripes=True)
            table.styles.max_height = 10
            table.styles.height = "auto"
            yield table
            yield Static("", id="sample-detail")
            yield Label("↑↓ choose a sample · esc to close · newest checkpoints first", classes="hint")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Step", "Lv", "Acc", "", "Problem", "DIO answered", "Golden")
        self.query_one(DataTable).focus()
        self.app.call_later(self.refresh_data)

    async def refresh_data(self) -> None:
        app: Any = self.app
        if app.store is None:
            return
        evals = await read_samples(app.store, self.skill)
        if evals == self.shown:
            return
        self.shown = evals
        table = self.query_one(DataTable)
        table.clear()
        self.details = []
        for ev in evals:
            for s in ev["samples"] or [{}]:
                problem, answer, golden, correct = sample_fields(s)
                mark = "" if correct is None else ("✓" if correct else "✗")
                table.add_row(fmt_count(ev["step"]), str(ev["level"]), fmt_percent(ev["accuracy"]), mark,
                              clip(problem, 30), clip(answer, 18), clip(golden, 18))
                note = str(s.get("detail") or "")
                if s.get("score") is not None and not correct:
                    note = f"partial credit {fmt_percent(s['score'])}" + (f" · {note}" if note else "")
                self.details.append((ev["step"], ev["level"], problem, answer, golden, mark, note))
        if not evals:
            table.add_row("—", "", "", "", "no evaluation yet", "", "")
        self.show_detail(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.cursor_row)

    def show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.details):
            self.query_one("#sample-detail", Static).update("")
            return
        step, level, problem, answer, golden, mark, note = self.details[row]
        text = Text()
        text.append(f"checkpoint-{step} · L{level} {mark}\n", style="bold")
        text.append("Problem  ", style="bold")
        text.append(problem + "\n")
        text.append("DIO      ", style="bold")
        text.append(answer + "\n", style="green" if mark == "✓" else "red" if mark == "✗" else "")
        text.append("Golden   ", style="bold")
        text.append(golden)
        if note:
            text.append("\nGrader   ", style="bold")
            text.append(note, style="dim")
        self.query_one("#sample-detail", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
