"""The current battle: quest, skill and level, progress with steps and ETA, loss
sparkline, throughput; or the hero resting with the queue's length."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from backend.fmt import fmt_count, fmt_duration, fmt_float, fmt_percent
from game.data.tavern import BattleInfo
from game.render import bar, clip, sparkline

SPARK_WIDTH = 24


class BattlePanel(Static):
    DEFAULT_CSS = """
    BattlePanel { width: 1fr; height: auto; min-height: 6; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.data: tuple[BattleInfo | None, int, int] | None = None

    def show(self, battle: BattleInfo | None, queued: int) -> None:
        width = max(self.size.width, 30)
        key = (battle, queued, width)
        if key == self.data:
            return
        self.data = key
        self.update(self.render_battle(battle, queued, width))

    def on_resize(self) -> None:
        if self.data is not None:
            battle, queued, _ = self.data
            self.show(battle, queued)

    @staticmethod
    def render_battle(b: BattleInfo | None, queued: int, width: int) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if b is None:
            t.append("💤 DIO rests at the tavern.\n", style="bold")
            t.append(f"{queued} quest{'s' if queued != 1 else ''} waiting on the board.\n" if queued
                     else "No quest waiting: post one on the board (q, then n).\n")
            return t
        where = f" · {b.skill.upper()} L{b.level}" if b.skill else ""
        t.append("⚔ ", style="bold")
        t.append(clip(b.quest_name, max(10, width - 4 - len(where) - (10 if b.paused else 0))), style="bold")
        t.append(where)
        if b.paused:
            t.append("  ⏸ PAUSED", style="bold yellow")
        t.append("\n")
        t.append(bar(b.step, b.total, max(8, width - 1)), style="green")
        t.append("\n")
        if b.total:
            t.append(f"step {fmt_count(b.step)}/{fmt_count(b.total)} · {fmt_percent(b.step / b.total)} · "
                     f"ETA {fmt_duration(b.eta_s)}\n")
        else:
            t.append("the engine is warming up…\n")
        t.append(f"loss {fmt_float(b.loss, 3)} ")
        t.append(sparkline(b.losses, max(8, min(SPARK_WIDTH, width - 12))), style="magenta")
        t.append("\n")
        speed = f"{fmt_count(b.tokens_per_s)} tok/s" if b.tokens_per_s is not None else "— tok/s"
        if b.mfu is not None:
            speed += f" · MFU {fmt_percent(b.mfu)}"
        t.append(speed)
        if queued:
            t.append(f" · {queued} queued", style="dim")
        return t
