"""A chart (textual-plot's PlotWidget: native Textual, high-resolution cells) that draws a
ChartData and redraws only when the data changed. It never takes focus or keys: the
screens' keys stay theirs."""

from __future__ import annotations

from textual_plot import HiResMode, PlotWidget

from game.data.charts import ChartData


class Chart(PlotWidget):
    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, allow_pan_and_zoom=False)
        self.data: ChartData | None = None
        self.draws = 0  # pictures drawn: an unchanged ChartData never draws again

    def show(self, data: ChartData) -> bool:
        """Draw `data`; False (and nothing redrawn) when it is what is shown already."""
        if data == self.data:
            return False
        self.data = data
        self.draws += 1
        self.clear()
        self.set_xlabel(data.x_label)
        self.set_ylabel(data.y_label)
        lo, hi = data.y_range
        self.set_ylimits(lo, hi)
        xs = [x for line in data.lines for x, _ in line.points]
        if xs:
            self.set_xlimits(min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1)
        for mark in data.marks:
            self.add_v_line(mark, line_style="grey37")
        for line in data.lines:
            if not line.points:
                continue
            x, y = zip(*line.points)
            if line.dots:
                self.scatter(x, y, marker="•", marker_style=line.style, label=line.label)
            else:
                self.plot(x, y, line_style=line.style, hires_mode=HiResMode.BRAILLE, label=line.label)
        if data.level is not None and xs:
            self.plot([min(xs), max(xs)], [data.level, data.level], line_style="red", hires_mode=HiResMode.BRAILLE,
                      label=f"{data.level:.0%}")
        self.show_legend(is_visible=len([line for line in data.lines if line.points]) > 1 or data.level is not None)
        return True
