"""The Guild: each skill's icon and name, mastered and training level of its maximum,
accuracy history per level, evaluation count; the curriculum strategy and each
skill's plan (enable, weight, priority), sent to the daemon as commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from backend.command_kinds import CommandKind
from backend.curriculum import new_progress, preview
from backend.fmt import fmt_count, fmt_float, fmt_percent
from game.data.charts import ChartData, guild_chart
from game.data.guild import GuildData, SkillRow, read_guild
from game.palette import STRATEGIES, change_strategy
from game.render import sparkline
from game.screens.base import RealmScreen
from game.screens.table_screen import TableScreen
from game.screens.chart_screen import CHART_BINDING, ChartScreen
from game.widgets.chart_box import ChartBox
from game.widgets.line import Line
from game.widgets.table import RealmTable

COLUMNS = (("skill", "Skill"), ("level", "Level"), ("history", "Accuracy (training level)"), ("evals", "Evals"),
           ("plan", "Plan"))


def level_text(r: SkillRow) -> str:
    top = r.card.max_level if r.card.max_level is not None else "?"
    rusty = f" L{','.join(map(str, r.rusty))} rusty" if r.rusty else ""
    if r.maxed and not r.rusty:
        return f"{r.mastered}/{top} max"
    return f"{r.mastered}→{r.training}/{top}{rusty}"


def history_text(r: SkillRow, width: int = 12) -> str:
    values = r.accuracies(r.training)
    if not values:
        return "—"
    return f"{sparkline(values, width, 0.0, 1.0)} {fmt_percent(values[-1])}"


def plan_text(r: SkillRow) -> str:
    if not r.enabled:
        return "off"
    return f"on w{r.weight:g} p{r.priority}"


def cells(r: SkillRow) -> tuple[str, ...]:
    return (f"{r.card.icon} {r.card.name} ({r.id})", level_text(r), history_text(r), fmt_count(r.evaluations), plan_text(r))


def detail_text(r: SkillRow) -> str:
    lines = []
    if r.card.description:
        lines.append(r.card.description)
    if not r.history:
        lines.append("No evaluation yet.")
    for level, values in r.history:
        state = ("rusty, rehearsed until it passes" if level in r.rusty else "mastered" if level <= r.mastered
                 else "training" if level == r.training else "")
        summary = r.card.summary(level)
        lines.append(f"L{level:<3} {sparkline(values, 12, 0.0, 1.0):<12} {fmt_percent(values[-1]):>4} "
                     f"(best {fmt_percent(max(values))}, {len(values)} eval{'s' if len(values) != 1 else ''}) {state}"
                     + (f" · {summary}" if summary else ""))
    return "\n".join(lines)


def check_weight(value: str) -> str | None:
    try:
        w = float(value)
    except ValueError:
        return "a number from 0 to 1000"
    return None if 0 <= w <= 1000 else "a number from 0 to 1000"


def check_priority(value: str) -> str | None:
    try:
        p = int(value)
    except ValueError:
        return "a whole number from -100 to 100"
    return None if -100 <= p <= 100 else "a whole number from -100 to 100"


class GuildScreen(TableScreen, ChartScreen, RealmScreen):
    MODE = "guild"
    BINDINGS = [
        Binding("enter", "samples", "Samples", priority=True),
        Binding("e", "toggle", "On/off", tooltip="Enable/disable the skill"),
        Binding("w", "weight", "Weight"),
        Binding("p", "priority", "Prio", tooltip="Priority"),
        Binding("c", "strategy", "Strat", tooltip="Strategy"),
        Binding("f", "focus_skill", "Focus", tooltip="Focus on the skill"),
        Binding("b", "tasks", "Tasks", tooltip="Background tasks: last run, next run, result; run one now"),
        CHART_BINDING,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: GuildData | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Line("", id="guild-curriculum", classes="strip")
        yield RealmTable(COLUMNS, id="guild-table")
        yield Line("", id="guild-detail", classes="box")
        yield ChartBox("Accuracy per level over steps (mean of its last 3 evaluations), with the mastery bar", id="guild-chart")

    def on_mount(self) -> None:
        self.query_one(RealmTable).focus()
        self.query_one("#guild-detail").border_title = "Levels"

    async def refresh_data(self) -> None:
        app = self.realm
        if app.store is None or app.config is None:
            return
        catalogue = await app.skill_catalogue()
        mastered = dict(app.feed.stats.skill_levels) if app.feed else {}
        rusty = {s: app.feed.stats.rusty(s) for s in app.feed.stats.progress} if app.feed else {}
        data = await read_guild(app.store, app.evals, catalogue, app.config.curriculum, mastered, rusty)
        await self.refresh_chart()
        recent = [r["skill"] for r in await app.store.fetchall(
            "SELECT skill FROM quests WHERE source = 'generator' AND skill IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 50")]
        recent.reverse()
        if data == self.data and recent == getattr(self, "_recent", None):
            return
        self.data = data
        self._recent = recent
        self.query_one(RealmTable).set_rows([(r.id, cells(r)) for r in data.rows])
        self.query_one("#guild-curriculum", Line).set(self.curriculum_text(data, recent))
        self.show_detail()
        if data.catalogue_error and not getattr(self, "_warned", False):
            self._warned = True
            self.notify(f"Skill files could not be read: {data.catalogue_error}", severity="warning")

    def curriculum_text(self, data: GuildData, recent: list[str]) -> str:
        text = f"Strategy {data.strategy}"
        if data.strategy == "focus":
            text += f" on {data.focus or '—'}"
        progress = {r.id: replace(new_progress(r.id, r.card.max_level or max(r.training, 1),
                                               min(r.mastered, r.card.max_level or r.mastered)), rusty=frozenset(r.rusty))
                    for r in data.rows}
        assert self.realm.config is not None
        try:
            nxt = preview(self.realm.config.curriculum, progress, recent, n=1)
        except ValueError:
            nxt = []
        if nxt and nxt[0].skill:
            text += f" · next quest: {nxt[0].skill.upper()} L{nxt[0].level}"
        return text

    EMPTY_HINT = "No skill selected."

    def table_rows(self) -> tuple[SkillRow, ...]:
        return self.data.rows if self.data else ()

    def row_key(self, row: SkillRow) -> str:
        return row.id

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        await self.refresh_chart(force=True)  # the chart follows the selected skill

    async def chart_data(self) -> ChartData:
        assert self.realm.store is not None and self.realm.config is not None
        r = self.selected()
        return await guild_chart(self.realm.store, r.id if r else "bin", self.realm.config.game.level_up_accuracy)

    def show_detail(self) -> None:
        r = self.selected()
        self.query_one("#guild-detail", Line).set(detail_text(r) if r else "No skill.")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_samples()


    def action_tasks(self) -> None:
        from game.screens.tasks import TasksScreen

        self.app.push_screen(TasksScreen())

    def action_samples(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        from game.screens.eval_samples import EvalSamplesScreen

        self.app.push_screen(EvalSamplesScreen(r.id, f"{r.card.icon} {r.card.name}"))

    def plan(self, r: SkillRow, **change: Any) -> None:
        from game.data.eventtext import plan_text

        self.realm.send(CommandKind.SKILL_PLAN, {"skill": r.id, **change}, done=plan_text({"skill": r.id, **change}))

    def action_toggle(self) -> None:
        r = self.need_selected()
        if r is not None:
            self.plan(r, enabled=not r.enabled)

    def action_weight(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        from game.screens.ask_value import AskValueScreen

        def chosen(value: str | None) -> None:
            if value is not None:
                self.plan(r, weight=float(value))

        self.app.push_screen(AskValueScreen(f"Weight of {r.card.name}", "Share of quests under the 'weighted' strategy (0-1000):",
                                            fmt_float(r.weight, 1), check_weight), chosen)

    def action_priority(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        from game.screens.ask_value import AskValueScreen

        def chosen(value: str | None) -> None:
            if value is not None:
                self.plan(r, priority=int(value))

        self.app.push_screen(AskValueScreen(f"Priority of {r.card.name}", "Higher goes first on ties (-100 to 100):",
                                            str(r.priority), check_priority), chosen)

    def action_strategy(self) -> None:
        from game.screens.pick_option import PickOptionScreen

        current = self.data.strategy if self.data else None

        def chosen(strategy: str | None) -> None:
            if strategy:
                change_strategy(self.realm, strategy)

        options = [(s, f"{s}{'  (now)' if s == current else ''}") for s in STRATEGIES]
        self.app.push_screen(PickOptionScreen("Curriculum strategy", options), chosen)

    def action_focus_skill(self) -> None:
        r = self.need_selected()
        if r is not None:
            self.realm.send(CommandKind.CURRICULUM_SET, {"strategy": "focus", "focus": r.id}, done=f"Curriculum: focus on {r.id}")
