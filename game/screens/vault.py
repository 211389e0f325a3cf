"""The Vault: every checkpoint on disk with its losses, evaluation accuracy per
skill, size, where it lives (trainer, inference node) and its marks; the disk."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from backend.command_kinds import CommandKind
from backend.fmt import fmt_bytes, fmt_count, fmt_float, fmt_percent
from game.data.charts import ChartData, vault_chart
from game.data.vault import VaultData, VaultRow, disk_info, read_vault
from game.render import stamp
from game.screens.base import RealmScreen
from game.screens.table_screen import TableScreen
from game.screens.chart_screen import CHART_BINDING, ChartScreen
from game.widgets.chart_box import ChartBox
from game.widgets.line import Line
from game.widgets.table import RealmTable

BASE_COLUMNS = (("step", "Step"), ("marks", "Marks"), ("train", "Train"), ("val", "Val"))
TAIL_COLUMNS = (("where", "Where"), ("size", "Size"), ("date", "Saved"), ("name", "Checkpoint"))


def marks(r: VaultRow) -> str:
    out = []
    if r.champion:
        out.append("👑")
    if r.deployed:
        out.append("🚀")
    if r.pinned:
        out.append("📌")
    if r.newest:
        out.append("new")
    return " ".join(out)


def where(r: VaultRow) -> str:
    """Where its copies are: `disk` (this save's folder), `node` (loaded on the default inference
    node now, as it last reported; 🚀 marks the one it serves), a storage zone's name (hosts.storage: a verified copy there), or
    `deleted` (retention removed it; the ledger row stays)."""
    places = []
    if r.on_trainer:
        places.append("disk")
    if r.on_node:
        places.append("node")
    places += r.zones
    return "+".join(places) or "deleted"


def sorts(skills: tuple[str, ...]) -> dict[str, tuple[str, Callable[[VaultRow], Any]]]:
    """column key -> (words, sort key) of every column the Vault sorts by, best or newest first."""
    missing = float("inf")
    out: dict[str, tuple[str, Callable[[VaultRow], Any]]] = {
        "step": ("newest", lambda r: -r.step),
        "val": ("validation loss", lambda r: (r.val_loss if r.val_loss is not None else missing, -r.step)),
        "train": ("train loss", lambda r: (r.train_loss if r.train_loss is not None else missing, -r.step)),
    }
    for s in skills:
        out[f"acc-{s}"] = (f"{s.upper()} accuracy", lambda r, s=s: (
            tuple(-x for x in (r.accuracy_for(s) or (-1.0, 0))[::-1]), -r.step))
    out["size"] = ("size", lambda r: (-(r.size_bytes or 0), -r.step))
    return out


def cells(r: VaultRow, skills: tuple[str, ...]) -> tuple[str, ...]:
    accs = []
    for s in skills:
        a = r.accuracy_for(s)
        accs.append(f"{fmt_percent(a[0])} L{a[1]}" if a else "—")
    return (fmt_count(r.step), marks(r), fmt_float(r.train_loss, 3), fmt_float(r.val_loss, 3),
            *accs, where(r), fmt_bytes(r.size_bytes), stamp(r.created_at), r.name)


class VaultScreen(TableScreen, ChartScreen, RealmScreen):
    MODE = "vault"
    BINDINGS = [
        Binding("enter", "details", "Ledger", priority=True),
        Binding("p", "promote", "Promote"),
        Binding("d", "delete", "Delete"),
        Binding("e", "export", "Export", show=False, tooltip="Export: copy the checkpoint into a folder"),
        Binding("l", "load", "Load", tooltip="Load on the inference node"),
        Binding("k", "pin", "Pin", show=False, tooltip="Pin/unpin (retention keeps pinned checkpoints)"),
        Binding("a", "spar", "Spar", show=False,
                tooltip="Spar this checkpoint: it answers problems, wrong answers become a quest"),
        Binding("r", "sort", "Sort", tooltip="Sort by the next column (or click a column's header)"),
        Binding("c", "board", "Board", tooltip="The champion board: the ranking rule, scores and their terms"),
        CHART_BINDING,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: VaultData | None = None
        self.skills: tuple[str, ...] | None = None
        self.sort_column = "step"

    def compose_body(self) -> Iterable[Widget]:
        yield Line("", id="vault-summary", classes="strip")
        yield RealmTable(BASE_COLUMNS + TAIL_COLUMNS, id="vault-table")
        yield Line("", id="vault-disk", classes="strip")
        yield ChartBox("Checkpoints: validation loss, and each skill's accuracy at its training level", id="vault-chart")

    def on_mount(self) -> None:
        self.query_one(RealmTable).focus()

    async def refresh_data(self) -> None:
        app = self.realm
        if app.store is None:
            return
        data = await read_vault(app.store, app.slot.root)
        await self.refresh_chart()
        if data.skills != self.skills:
            await self.rebuild_table(data.skills)
        self.data = data
        self.show_rows()
        disk = disk_info(app.slot.root, data.rows)
        self.query_one("#vault-disk", Line).set(
            f"Disk: checkpoints {fmt_bytes(disk.used_by_checkpoints)} · {fmt_bytes(disk.total - disk.free)} used, "
            f"{fmt_bytes(disk.free)} free of {fmt_bytes(disk.total)}")

    def show_rows(self) -> None:
        data = self.data
        if data is None:
            return
        if self.sort_column not in sorts(data.skills):
            self.sort_column = "step"
        label, key = sorts(data.skills)[self.sort_column]
        self.query_one(RealmTable).set_rows([(r.step, cells(r, data.skills)) for r in sorted(data.rows, key=key)])
        champion = f"checkpoint-{data.champion_step}" if data.champion_step is not None else "none yet"
        deployed = f"checkpoint-{data.deployed_step}" if data.deployed_step is not None else "none"
        self.query_one("#vault-summary", Line).set(
            f"{len(data.rows)} checkpoint{'s' if len(data.rows) != 1 else ''} · 👑 champion {champion} · 🚀 deployed "
            f"{deployed} · sorted by {label} (r)")

    def action_sort(self) -> None:
        order = list(sorts(self.skills or ()))
        self.sort_column = order[(order.index(self.sort_column) + 1) % len(order)] if self.sort_column in order else "step"
        self.show_rows()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value in sorts(self.skills or ()):
            self.sort_column = str(event.column_key.value)
            self.show_rows()

    def action_board(self) -> None:
        from game.screens.champion_board import ChampionBoardScreen

        self.app.push_screen(ChampionBoardScreen())

    async def rebuild_table(self, skills: tuple[str, ...]) -> None:
        old = self.query_one(RealmTable)
        columns = BASE_COLUMNS + tuple((f"acc-{s}", f"{s.upper()} acc") for s in skills) + TAIL_COLUMNS
        table = RealmTable(columns, id="vault-table")
        had_focus = old.has_focus
        await old.remove()
        await self.mount(table, after=self.query_one("#vault-summary"))
        self.skills = skills
        if had_focus or self.focused is None:
            table.focus()

    async def chart_data(self) -> ChartData:
        assert self.realm.store is not None
        return await vault_chart(self.realm.store)

    EMPTY_HINT = "No checkpoint selected: the vault is empty until DIO saves one."

    def table_rows(self) -> tuple[VaultRow, ...]:
        return self.data.rows if self.data else ()

    def row_key(self, row: VaultRow) -> int:
        return row.step

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_details(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        from game.screens.checkpoint_details import CheckpointDetailsScreen

        self.app.push_screen(CheckpointDetailsScreen(r.step))

    def action_spar(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        if not r.on_trainer and not r.zones:
            self.notify(f"{r.name} is no longer on disk and no zone holds a copy: it cannot spar.", severity="warning")
            return
        self.notify(f"{r.name} spars at its skill's training level (see the chronicle).", title="Sparring")
        self.realm.send(CommandKind.SPAR, {"step": r.step}, done="Sparring: {line}")

    def action_promote(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        if r.champion:
            self.notify(f"{r.name} is already the champion.", severity="warning")
            return
        from game.screens.confirm import ConfirmScreen

        def chosen(yes: bool | None) -> None:
            if yes:
                self.realm.send(CommandKind.PROMOTE, {"step": r.step}, done=f"checkpoint-{r.step} is the champion")

        self.app.push_screen(ConfirmScreen(f"Promote {r.name} to champion?",
                                           "The champion is the checkpoint the node serves by default.", yes="Promote"), chosen)

    def action_delete(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        refusal = r.delete_refusal()
        if refusal:
            self.notify(f"Cannot delete: {refusal}.", title="Refused", severity="error")
            return
        from game.screens.confirm import ConfirmScreen

        def chosen(yes: bool | None) -> None:
            if yes:
                self.realm.send(CommandKind.CHECKPOINT_DELETE, {"step": r.step}, done=f"{r.name} deleted")

        pinned = " It is pinned." if r.pinned else ""
        self.app.push_screen(ConfirmScreen(f"Delete {r.name}?",
                                           f"Its folder is removed from disk ({fmt_bytes(r.size_bytes)}).{pinned}",
                                           yes="Delete"), chosen)

    def action_export(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        from game.screens.ask_path import AskPathScreen

        def chosen(folder: str | None) -> None:
            if folder:
                dest = str(Path(folder).expanduser())
                self.realm.send(CommandKind.CHECKPOINT_EXPORT, {"step": r.step, "dest": dest}, done=f"{r.name} exported")

        self.app.push_screen(AskPathScreen(f"Export {r.name}", "Copy the checkpoint into this folder:",
                                           str(self.realm.slot.exports_dir) + "/"), chosen)

    def action_load(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        if r.on_node:
            self.notify(f"{r.name} is already on the node.", severity="warning")
            return
        self.realm.send(CommandKind.NODE_LOAD, {"step": r.step}, done=f"{r.name} loaded on the node")

    def action_pin(self) -> None:
        r = self.need_selected()
        if r is None:
            return
        self.realm.send(CommandKind.CHECKPOINT_PIN, {"step": r.step, "pinned": not r.pinned},
                        done=f"{r.name} {'unpinned' if r.pinned else 'pinned: retention keeps it'}")
