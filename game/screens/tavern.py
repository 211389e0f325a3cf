"""The Tavern: DIO's portrait and stats, the current battle, the chronicle, the
daemon and the inference node."""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget

from game.data.charts import CAMPAIGN_TITLE, ChartData, campaign_chart
from game.data.tavern import TavernData, read_tavern
from game.screens.base import RealmScreen
from game.screens.chart_screen import CHART_BINDING, ChartScreen
from game.widgets.battle_panel import BattlePanel
from game.widgets.chart_box import ChartBox
from game.widgets.chronicle import Chronicle
from game.widgets.hero_card import HeroCard
from game.widgets.portrait import Portrait
from game.widgets.status_line import StatusLine


class TavernScreen(ChartScreen, RealmScreen):
    MODE = "tavern"
    BINDINGS = [
        Binding("space", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop battle"),
        Binding("c", "checkpoint", "Checkpoint now"),
        CHART_BINDING,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: TavernData | None = None

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(id="tavern-top"):
            with Horizontal(id="hero-box", classes="box") as box:
                box.border_title = "Hero"
                yield Portrait()
                yield HeroCard()
            with Vertical(id="battle-box", classes="box") as box:
                box.border_title = "Battle"
                yield BattlePanel()
        yield ChartBox(CAMPAIGN_TITLE, id="tavern-chart")
        with Vertical(id="chronicle-box", classes="box") as box:
            box.border_title = "Chronicle"
            yield Chronicle()
        yield StatusLine()

    async def refresh_data(self) -> None:
        app = self.realm
        if app.store is None or app.feed is None or app.config is None:
            return
        data = await read_tavern(app.store, app.feed, app.config.hero.name, app.daemon_note)
        if data != self.data:
            self.data = data
            self.query_one(Portrait).set_level(data.hero.level)
            self.query_one(HeroCard).show(data.hero)
            self.query_one(BattlePanel).show(data.battle, data.queued)
            self.query_one(Chronicle).show(data.chronicle)
            self.query_one(StatusLine).show(data.processes)
        if self.chart_box().built:
            await self.refresh_chart()
        else:  # building it imports the plotting library: the stats are painted first
            self.call_after_refresh(self.refresh_chart)

    async def chart_data(self) -> ChartData:
        assert self.realm.store is not None
        return await campaign_chart(self.realm.store)

    def battle_paused(self) -> bool:
        if self.data is None:
            return False
        return self.data.processes.daemon_state == "paused" or bool(self.data.battle and self.data.battle.paused)

    def action_pause(self) -> None:
        self.realm.pause_or_resume(self.battle_paused())

    def action_stop(self) -> None:
        self.realm.confirm_stop()

    def action_checkpoint(self) -> None:
        from backend.command_kinds import CommandKind

        self.realm.send(CommandKind.CHECKPOINT_NOW, done="Checkpoint saved")
