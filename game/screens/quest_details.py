"""One quest in full, with its validation report and the bad lines."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.fmt import fmt_bytes, fmt_count, fmt_duration, fmt_percent
from backend.store.quests import Quest
from game.data.eventtext import quest_tested_text
from game.data.quests import read_quest, read_quest_test
from game.render import clip, short_sha, stamp
from game.screens.base import DataView


def quest_facts(q: Quest) -> str:
    skill = f"{q.skill.upper()} L{q.level}" if q.skill else "—"
    rows = [
        ("State", q.state + (f" — {q.fail_reason}" if q.fail_reason else "")),
        ("Priority", q.priority),
        ("File", q.path),
        ("Schema", q.schema or "—"),
        ("Skill", skill),
        ("Examples", fmt_count(q.examples)),
        ("Source", q.source + (f" ({q.generator_id} {q.generator_version})" if q.generator_id else "")),
        ("Size", f"{fmt_bytes(q.size_bytes)} · sha256 {short_sha(q.sha256)}"),
        ("Steps", f"{fmt_count(q.steps_done)}/{fmt_count(q.steps_total)} · attempts {q.attempts}"),
        ("Created", stamp(q.created_at)),
        ("Finished", stamp(q.finished_at)),
    ]
    return "\n".join(f"[b]{k:<9}[/b] {escape(str(v))}" for k, v in rows)


def report_text(report: dict[str, Any] | None) -> str:
    if not report:
        return "Not validated yet."
    counts = report.get("counts") or {}
    lines = [
        f"[b]{escape(str(report.get('summary', '')))}[/b]",
        f"verdict {report.get('verdict')} · level {report.get('level')} · policy {report.get('policy')} · "
        f"schema {report.get('quest_schema') or '—'}",
        f"lines {fmt_count(counts.get('lines'))} · ok {fmt_count(counts.get('ok'))} · bad {fmt_count(counts.get('bad'))} "
        f"({fmt_percent(report.get('bad_fraction'), 1)}) · blank {fmt_count(counts.get('blank'))}",
    ]
    if report.get("reason_counts"):
        lines.append("reasons: " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(report["reason_counts"].items())))
    tokens = report.get("tokens")
    if tokens:
        lines.append(f"tokens: {fmt_count(tokens.get('total'))} in all, mean {tokens.get('mean', 0):.0f}, "
                     f"p95 {fmt_count(tokens.get('p95'))}, max {fmt_count(tokens.get('max'))} of {fmt_count(tokens.get('max_length'))}")
    for issue in report.get("file_errors") or []:
        lines.append(f"[red]✗ {escape(issue.get('code', ''))}: {escape(issue.get('message', ''))}[/red]\n   fix: {escape(issue.get('fix', ''))}")
    for issue in report.get("warnings") or []:
        lines.append(f"[yellow]! {escape(issue.get('code', ''))}: {escape(issue.get('message', ''))}[/yellow]")
    if report.get("duration_s") is not None:
        lines.append(f"[dim]validated by {escape(str(report.get('validator')))} {escape(str(report.get('validator_version')))} "
                     f"in {fmt_duration(report.get('duration_s'))}[/dim]")
    return "\n".join(lines)


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
    out = []
    for b in bad:
        out.append(f"[b]line {b.get('line')}[/b] · [red]{escape(str(b.get('code', '')))}[/red]: {escape(str(b.get('message', '')))}")
        out.append(f"   [dim]{escape(clip(str(b.get('excerpt', '')), 70))}[/dim]")
        out.append(f"   fix: {escape(str(b.get('fix', '')))}")
    return "\n".join(out)


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
