"""Help: what every number means (the glossary), then every screen and its keys (from the bindings)."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.progression.glossary import STATS
from game.keys import sections


def help_text() -> str:
    out = ["[b]What the numbers mean[/b]"]
    out += [f"  [b]{escape(k):<12}[/b] {escape(v)}" for k, v in STATS]
    out.append("")
    for s in sections():
        out.append(f"[b]{escape(s.title)}[/b]  [dim]{escape(s.summary)}[/dim]")
        out += [f"  [b]{escape(k):<16}[/b] {escape(d)}" for k, d in s.keys]
        out.append("")
    return "\n".join(out).rstrip()


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1,enter", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Label("Realm of Training: numbers, screens and keys", classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(help_text(), id="help-text")
            yield Label("↑↓ scroll · esc closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
