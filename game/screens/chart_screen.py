"""What the Tavern, the Vault and the Guild share about their chart: `h` shows or hides it, it
appears by itself on a tall terminal (see ChartBox), and it is read again as the data changes
(at most every ChartBox.REFRESH_S)."""

from __future__ import annotations

from textual import events
from textual.binding import Binding

from game.data.charts import ChartData
from game.widgets.chart_box import ChartBox

# not in the footer (the Vault's and the Guild's are full at 80 columns): the chart's own title, Help
# and the palette name it
CHART_BINDING = Binding("h", "chart", "Chart", tooltip="Show or hide the chart (shown by itself from 40 rows)",
                        show=False)


class ChartScreen:
    """A mixin for a RealmScreen that composes one ChartBox and implements chart_data."""

    async def chart_data(self) -> ChartData:  # pragma: no cover - overridden
        raise NotImplementedError

    def chart_box(self) -> ChartBox:
        return self.query_one(ChartBox)  # type: ignore[attr-defined]

    def on_resize(self, event: events.Resize) -> None:
        self.chart_box().fit(self.app.size.height)  # type: ignore[attr-defined]
        self.call_later(self.refresh_chart, True)  # type: ignore[attr-defined]

    async def refresh_chart(self, force: bool = False) -> None:
        if self.realm.store is not None:  # type: ignore[attr-defined]
            await self.chart_box().update_from(self.chart_data, force)

    async def action_chart(self) -> None:
        shown = self.chart_box().toggle(self.app.size.height)  # type: ignore[attr-defined]
        if shown:
            await self.refresh_chart(True)
