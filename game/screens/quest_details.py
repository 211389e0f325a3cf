"""One quest in full, with its validation report and the bad lines."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.quest_report import bad_line_lines, fact_rows, report_lines
from backend.store.quests import Quest
from game.data.eventtext import quest_tested_text
from game.data.quests import read_quest, read_quest_test
from game.render import clip
from game.screens.base import DataView


def markup(lines: list[tuple[str, str]]) -> str:
    return "\n".join(f"[{style}]{escape(text)}[/{style}]" if style else escape(text) for style, text in lines)


def quest_facts(q: Quest) -> str:
    return "\n".join(f"[b]{k:<9}[/b] {escape(str(v))}" for k, v in fact_rows(q))


def report_text(report: dict[str, Any] | None) -> str:
    return markup(report_lines(report))


def test_text(test: dict[str, Any] | None, quest: Quest) -> str:
    """What the checkpoint that trained a player's quest answers of its lines."""
    if test is None:
        if quest.skill is None and quest.source not in ("generator", "sparring"):
            return "Not tested yet: the checkpoint that trains this quest will answer a sample of its lines."
        return "A skill's quest: its checkpoints take the skill's evaluations (see the Guild)."
    if test.get("skipped"):
        return f"Not tested: {escape(str(test['skipped']))}"
    lines = [escape(quest_tested_text(test))]
    for part in ("seen", "held_out"):
        for smp in (test.get(part) or {}).get("samples") or []:
            mark = "[green]✓[/green]" if smp.get("exact") else f"[yellow]{round(100 * smp.get('similarity', 0))} %[/yellow]"
            lines.append(f"{mark} {escape(clip(str(smp.get('prompt', '')), 30))} → {escape(clip(str(smp.get('answer', '')), 30))}"
                         f" [dim](expected {escape(clip(str(smp.get('expected', '')), 24))})[/dim]")
    return "\n".join(lines)


def bad_lines_text(bad: list[dict[str, Any]]) -> str:
    return markup(bad_line_lines(bad))


class QuestDetailsScreen(ModalScreen[None], DataView):
    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, quest_id: int) -> None:
        super().__init__()
        self.quest_id = quest_id
        self.quest: Quest | None = None
        self.test: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="quest-details"):
            yield Label(f"Quest #{self.quest_id}", classes="dialog-title", id="quest-title")
            with VerticalScroll(id="quest-scroll"):
                yield Static("", id="quest-facts")
                yield Label("Tested", classes="dialog-title")
                yield Static("", id="quest-test")
                yield Label("Validation", classes="dialog-title")
                yield Static("", id="quest-report")
                yield Label("Bad lines", classes="dialog-title", id="bad-title")
                yield Static("", id="bad-lines")
            yield Label("esc to close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#quest-scroll").focus()
        self.app.call_later(self.refresh_data)

    async def refresh_data(self) -> None:
        app: Any = self.app
        if app.store is None:
            return
        quest = await read_quest(app.store, self.quest_id)
        test = await read_quest_test(app.store, self.quest_id)
        if quest is None or (quest, test) == (self.quest, self.test):
            return
        self.quest, self.test = quest, test
        self.query_one("#quest-test", Static).update(test_text(test, quest))
        self.query_one("#quest-title", Label).update(f"Quest #{quest.id} {quest.name}")
        self.query_one("#quest-facts", Static).update(quest_facts(quest))
        self.query_one("#quest-report", Static).update(report_text(quest.validation))
        bad = (quest.validation or {}).get("bad_lines") or []
        self.query_one("#bad-lines", Static).update(bad_lines_text(bad))
        self.query_one("#bad-title", Label).update(f"Bad lines ({len(bad)} shown)" if bad else "Bad lines: none")

    def action_close(self) -> None:
        self.dismiss(None)
