"""A boxed chart that a screen shows when the terminal has room for it (CHART_MIN_ROWS rows or
more: 160x45, not 100x30 or 80x24), and that `h` shows or hides at any size. Its data is read
at most every REFRESH_S while it is shown, and the chart redraws only when the data changed,
so an idle TUI stays idle."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from textual.containers import Vertical

from game.data.charts import ChartData
from game.widgets.line import Line

CHART_MIN_ROWS = 40
REFRESH_S = 30.0  # a campaign chart's picture moves slowly; each redraw costs a few tenths of a CPU second


class ChartBox(Vertical):
    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, classes="box chart-box")
        self.border_title = title
        self.border_subtitle = "h hides"
        self.choice: bool | None = None  # the player's h: None = by the terminal's size
        self.read_at = 0.0
        self.built = False  # the Chart widget is mounted (the first time the box is shown with data)

    def compose(self):  # type: ignore[no-untyped-def]
        yield Line("No data yet: the chart fills in as DIO trains.", classes="chart-empty")
        # the chart itself (textual-plot and numpy) is mounted the first time it is shown, so a
        # small terminal's first paint never pays for it

    def fit(self, rows: int) -> None:
        self.display = self.choice if self.choice is not None else rows >= CHART_MIN_ROWS

    def toggle(self, rows: int) -> bool:
        self.choice = not self.display
        self.fit(rows)
        self.read_at = 0.0
        return bool(self.display)

    async def update_from(self, read: Callable[[], Awaitable[ChartData]], force: bool = False) -> None:
        """Read and draw, when shown and REFRESH_S has passed (or `force`: another item selected)."""
        if not self.display or (not force and time.monotonic() - self.read_at < REFRESH_S):
            return
        self.read_at = time.monotonic()
        data = await read()
        from game.widgets.chart import Chart

        charts = self.query(Chart)
        chart = charts.first() if charts else None
        if chart is None:
            chart = Chart()
            await self.mount(chart)
            self.built = True
        self.border_title = data.title
        self.query_one(".chart-empty", Line).display = data.empty
        chart.display = not data.empty
        chart.show(data)
