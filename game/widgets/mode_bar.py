"""The line on top of every mode: the save's name and the modes, with their keys."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from game.modes import MODES



class ModeBar(Static):
    DEFAULT_CSS = """
    ModeBar { height: 1; background: $panel; color: $foreground; }
    """

    def __init__(self, current: str, save_name: str) -> None:
        super().__init__(self.build(current, save_name))

    @staticmethod
    def build(current: str, save_name: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for m in MODES:
            mode, key, label = m.id, m.key, m.label
            style = "bold reverse" if mode == current else ""
            text.append(" ")
            start = len(text)
            text.append(label, style=style)
            if label[0].lower() == key:
                text.stylize("underline bold", start, start + 1)
            text.append(" ")
        text.append(" ?/f1", style="bold")  # f1 also from the Oracle's prompt, where ? is typed
        text.append(" Help ")
        text.append(" ^q", style="bold")
        text.append(" Quit ")
        text.append(f"  ⌂ {save_name}", style="dim")
        return text
