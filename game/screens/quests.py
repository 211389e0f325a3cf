"""The Quest board: every quest with its state, priority, skill, size, progress and
validation; post, reprioritise, delete and retry quests; pause or stop the battle."""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from backend.command_kinds import CommandKind
from backend.fmt import fmt_count
from backend.store.quests import PRIORITIES
from game.data.quests import QuestRow, read_quests
from game.render import clip
from game.screens.base import RealmScreen
from game.screens.table_screen import TableScreen
from game.widgets.line import Line
from game.widgets.table import RealmTable

STATE_TEXT = {
    "processing": "⚔ battle",
    "queued": "queued",
    "validating": "checking",
    "inbox": "inbox",
    "failed": "✗ failed",
    "completed": "✓ done",
}
COLUMNS = (
    ("id", "#"), ("state", "State"), ("priority", "Pri"), ("name", "Quest"), ("skill", "Skill"),
    ("examples", "Examples"), ("progress", "Progress"), ("validation", "Validation"),
)


def progress_text(q: QuestRow) -> str:
    if q.state == "completed":
        return f"✓ {fmt_count(q.steps_done)}" if q.steps_done else "✓"
    if q.steps_total:
        return f"{fmt_count(q.steps_done)}/{fmt_count(q.steps_total)}"
    return "—"


def cells(q: QuestRow) -> tuple[str, ...]:
    return (
        str(q.id), STATE_TEXT.get(q.state, q.state), q.priority, clip(q.name, 28), q.skill_text,
        fmt_count(q.examples), progress_text(q), clip(q.validation, 24),
    )


class QuestsScreen(TableScreen, RealmScreen):
    MODE = "quests"
    BINDINGS = [
        Binding("enter", "details", "Details", priority=True),
        Binding("n", "new", "New quest"),
        Binding("plus", "priority(1)", "Raise", key_display="+", tooltip="Priority up"),
        Binding("minus", "priority(-1)", "Lower", key_display="-", tooltip="Priority down"),
        Binding("d", "delete", "Delete"),
        Binding("r", "retry", "Retry"),
        Binding("space", "pause", "Pause", tooltip="Pause/resume the battle", show=False),
        Binding("x", "stop", "Stop", tooltip="Stop the battle", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[QuestRow, ...] = ()
        self.paused = False

    def compose_body(self) -> Iterable[Widget]:
        yield Line("", id="quests-summary", classes="strip")
        yield RealmTable(COLUMNS, id="quests-table")
        yield Line("", id="quests-about", classes="about")  # the highlighted quest's validation, whole

    def on_mount(self) -> None:
        self.query_one(RealmTable).focus()

    async def refresh_data(self) -> None:
        app = self.realm
        if app.store is None:
            return
        rows = await read_quests(app.store)
        daemon = await app.store.heartbeat.read()
        self.paused = bool(daemon and daemon.state == "paused")
        self.rows = rows
        self.query_one(RealmTable).set_rows([(q.id, cells(q)) for q in rows])
        counts: dict[str, int] = {}
        for q in rows:
            counts[q.state] = counts.get(q.state, 0) + 1
        summary = (f"{counts.get('processing', 0)} in battle{' (paused)' if self.paused else ''} · "
                   f"{counts.get('queued', 0)} queued · {counts.get('validating', 0)} checking · "
                   f"{counts.get('failed', 0)} failed · {counts.get('completed', 0)} done")
        self.query_one("#quests-summary", Line).set(summary)
        self.show_about()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_about()

    def show_about(self) -> None:
        """The Validation column is clipped at 80 columns: the highlighted quest's in full, and why it failed."""
        q = self.selected()
        if q is None:
            self.query_one("#quests-about", Line).set("")
            return
        why = f" · {q.fail_reason}" if q.fail_reason and q.fail_reason not in q.validation else ""
        self.query_one("#quests-about", Line).set(f"#{q.id} {q.name}: validation {q.validation or '—'}{why}")

    EMPTY_HINT = "No quest selected: post one with n."

    def table_rows(self) -> tuple[QuestRow, ...]:
        return tuple(self.rows)

    def row_key(self, row: QuestRow) -> int:
        return row.id

    def battle_paused(self) -> bool:
        return self.paused

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_details(self) -> None:
        q = self.need_selected()
        if q is None:
            return
        from game.screens.quest_details import QuestDetailsScreen

        self.app.push_screen(QuestDetailsScreen(q.id))

    def action_new(self) -> None:
        from game.screens.new_quest import NewQuestScreen

        def chosen(result: tuple[str, dict] | None) -> None:
            if result:
                kind, payload = result
                self.realm.send(kind, payload, done="Quest posted" if kind == CommandKind.QUEST_ADD else "Quest generated")

        self.app.push_screen(NewQuestScreen(), chosen)

    def action_priority(self, delta: int) -> None:
        q = self.need_selected()
        if q is None:
            return
        if q.state not in ("queued", "validating", "failed"):
            self.notify(f"Quest #{q.id} is {q.state}; only waiting quests change priority.", severity="warning")
            return
        order = list(reversed(PRIORITIES))  # low, normal, high
        i = order.index(q.priority) + delta
        if not 0 <= i < len(order):
            self.notify(f"Quest #{q.id} is already {q.priority} priority.", severity="warning")
            return
        new = order[i]
        self.realm.send(CommandKind.QUEST_PRIORITY, {"quest_id": q.id, "priority": new},
                        done=f"Quest #{q.id} is now {new} priority")

    def action_delete(self) -> None:
        q = self.need_selected()
        if q is None:
            return
        if q.state == "processing":
            self.notify(f"Quest #{q.id} is in battle: stop the battle first (x).", severity="warning")
            return
        from game.screens.confirm import ConfirmScreen

        def chosen(yes: bool | None) -> None:
            if yes:
                self.realm.send(CommandKind.QUEST_DELETE, {"quest_id": q.id}, done=f"Quest #{q.id} deleted")

        self.app.push_screen(ConfirmScreen(f"Delete quest #{q.id} {q.name}?",
                                           "The file moves to quests/deleted/ in the save; nothing is erased.",
                                           yes="Delete"), chosen)

    def action_retry(self) -> None:
        q = self.need_selected()
        if q is None:
            return
        if q.state != "failed":
            self.notify(f"Quest #{q.id} is {q.state}; only failed quests are retried.", severity="warning")
            return
        self.realm.send(CommandKind.QUEST_RETRY, {"quest_id": q.id}, done=f"Quest #{q.id} sent back to validation")

    def action_pause(self) -> None:
        self.realm.pause_or_resume(self.battle_paused())

    def action_stop(self) -> None:
        self.realm.confirm_stop()
