"""Daemon and inference node status, one line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from game.data.tavern import ProcessInfo


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.info: ProcessInfo | None = None

    def show(self, info: ProcessInfo) -> None:
        if info == self.info:
            return
        self.info = info
        self.update(self.render_info(info))

    @staticmethod
    def render_info(p: ProcessInfo) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" Daemon ")
        if p.daemon_alive:
            t.append("● ", style="green")
            t.append(f"{p.daemon_state or 'alive'} (pid {p.daemon_pid})")
            if p.daemon_detail:
                t.append(f", {p.daemon_detail}", style="yellow")
        elif p.daemon_note:
            t.append("● ", style="red")
            t.append(p.daemon_note, style="red")
        elif p.daemon_pid is not None:
            t.append("○ ", style="red")
            t.append(f"not running (last pid {p.daemon_pid}, {p.daemon_state})")
        else:
            t.append("○ ", style="red")
            t.append("not running")
        t.append("  │  Node ")
        status = p.node_status
        if status is None:
            t.append("○ ", style="dim")
            t.append("unknown")
        else:
            colour = {"up": "green", "starting": "yellow", "degraded": "yellow"}.get(status, "red")
            t.append("● " if p.daemon_alive else "○ ", style=colour)
            t.append(status if p.daemon_alive else f"last seen {status}")
            if p.node_url:
                t.append(f" {p.node_url}", style="dim")
            if p.node_detail:
                t.append(f" ({p.node_detail})", style="dim")
        return t
