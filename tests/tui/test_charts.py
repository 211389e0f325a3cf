"""Charts: the campaign's loss in the Tavern, checkpoints in the Vault, accuracy per level in
the Guild. Shown by themselves on a tall terminal, by `h` on any; never redrawn for unchanged
data; the Guild's follows the selected skill."""

from __future__ import annotations

import pytest

from game.widgets.chart import Chart
from game.widgets.chart_box import ChartBox
from tui_helpers import make_app, press, screen_text, settle


async def test_a_tall_terminal_shows_the_campaign_chart_and_h_hides_it(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        box = app.screen.query_one(ChartBox)
        assert box.display
        chart = box.query_one(Chart)
        lines = {line.label: line.points for line in chart.data.lines}
        assert lines["BIN"] and lines["checkpoint"]  # the seeded save trains BIN only: one curve, and the checkpoints
        assert all(b[0] > a[0] for a, b in zip(lines["BIN"], lines["BIN"][1:]))  # over steps, in order
        assert "Campaign: train loss per skill" in screen_text(app)
        draws = chart.draws
        await app.screen.refresh_chart(force=True)  # nothing changed in the save
        assert chart.draws == draws
        await press(app, pilot, "h")
        await settle(app, pilot)
        assert not box.display and "Campaign: train loss" not in screen_text(app)


async def test_h_shows_a_chart_on_a_small_terminal(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        box = app.screen.query_one(ChartBox)
        assert not box.display and not box.query(Chart)  # not even built: the first paint stays light
        await press(app, pilot, "h")
        await settle(app, pilot)
        assert box.display and box.query_one(Chart).data is not None


async def test_the_vault_and_guild_charts(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        await press(app, pilot, "v")
        await settle(app, pilot)
        vault = app.screen.query_one(ChartBox).query_one(Chart).data
        assert [line.label for line in vault.lines][0] == "val loss" and vault.lines[0].points
        assert "BIN acc" in [line.label for line in vault.lines]
        await press(app, pilot, "g")
        await settle(app, pilot)
        guild = app.screen.query_one(ChartBox).query_one(Chart).data
        assert guild.title.startswith("BIN: accuracy per level") and guild.level == 0.8
        first = dict((line.label, line.points) for line in guild.lines)["L1"]
        assert first[-1][1] == pytest.approx((0.8 + 0.8 + 1.0) / 3)  # BIN L1's three evaluations: its mean
        await press(app, pilot, "down")  # the chart follows the selected skill
        await settle(app, pilot)
        assert app.screen.query_one(ChartBox).query_one(Chart).data.title.startswith("SY: ")
