"""One checkpoint: its ledger (the stats at save time) and its evaluations."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.fmt import fmt_bytes, fmt_count, fmt_float, fmt_percent
from backend.store.catalog import Copy
from backend.store.checkpoints import CheckpointRow
from backend.vault.ranking import BoardEntry, champion_board
from backend.store.evaluations import Evaluation
from game.render import stamp
from game.screens.base import DataView


def ledger_lines(ledger: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in ledger.items():
        if isinstance(value, dict):
            if key in ("files", "weights_sha256", "sha256") and value:
                out.append(f"[b]{escape(prefix + key)}[/b]: {len(value)} files")
                for name, sha in list(value.items())[:8]:
                    out.append(f"    {escape(str(name))}  {escape(str(sha))[:16]}")
                continue
            out += ledger_lines(value, f"{prefix}{key}.")
        else:
            text = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
            out.append(f"[b]{escape(prefix + key)}[/b]: {escape(text)}")
    return out


RESUME_WORDS = {
    "exact": "exact: it keeps its optimizer state",
    "thinned": "weights only: its optimizer state was removed to save disk (retention.resume_states_kept)",
    "none": "weights only",
}


def copies_text(cp: CheckpointRow, copies: tuple[Copy, ...]) -> str:
    """Where its copies are: the trainer (this save's folder) and every storage zone, with state."""
    here = ["trainer"] if cp.deleted_at is None else []
    zones = [c.zone if c.state == "ok" else f"{c.zone} ({c.state}, never served)" for c in copies if c.zone != "trainer"]
    return ", ".join(here + zones) or "none: retention removed it"


def rank_text(entry: BoardEntry | None, of: int) -> str:
    """Its place by the ranking rule that crowns champions, with the score's terms."""
    if entry is None:
        return "not ranked: no evaluation yet"
    return f"{entry.rank} of {of}: {entry.why()}"


def facts(cp: CheckpointRow, champion: int | None, deployed: int | None, copies: tuple[Copy, ...] = (),
          rank: str = "") -> str:
    marks = [m for m, on in (("👑 champion", cp.step == champion), ("🚀 deployed", cp.step == deployed),
                              ("📌 pinned", cp.pinned), ("on the node", cp.on_node)) if on]
    rows = [
        ("Step", fmt_count(cp.step)),
        ("Saved", stamp(cp.created_at)),
        ("Path", cp.path),
        ("Quest", f"#{cp.quest_id}" if cp.quest_id else "—"),
        ("Skill", f"{cp.skill.upper()} L{cp.level}" if cp.skill else "—"),
        ("Loss", f"train {fmt_float(cp.train_loss, 4)} · val {fmt_float(cp.val_loss, 4)}"),
        ("Size", fmt_bytes(cp.size_bytes)),
        ("Resume", RESUME_WORDS[cp.resume_kind()]),
        ("Copies", copies_text(cp, copies)),
        ("sha256", cp.weights_sha256 or "—"),
        ("Marks", ", ".join(marks) or "—"),
        ("Rank", rank or "—"),
    ]
    return "\n".join(f"[b]{k:<7}[/b] {escape(str(v))}" for k, v in rows)


def evaluation_lines(evals: list[Evaluation]) -> str:
    if not evals:
        return "Not evaluated yet."
    return "\n".join(f"{e.skill.upper()} L{e.level}: {fmt_percent(e.accuracy)} ({e.correct}/{e.total})" for e in evals)


class CheckpointDetailsScreen(ModalScreen[None], DataView):
    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step
        self.shown: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="checkpoint-details"):
            yield Label(f"checkpoint-{self.step}", classes="dialog-title", id="cp-title")
            with VerticalScroll(id="cp-scroll"):
                yield Static("", id="cp-facts")
                yield Label("Evaluations", classes="dialog-title")
                yield Static("", id="cp-evals")
                yield Label("Ledger", classes="dialog-title")
                yield Static("", id="cp-ledger")
            yield Label("esc to close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#cp-scroll").focus()
        self.app.call_later(self.refresh_data)

    async def refresh_data(self) -> None:
        app: Any = self.app
        if app.store is None:
            return
        cp = await app.store.checkpoints.get(self.step)
        evals = await app.store.evaluations.for_checkpoint(self.step)
        champion = await app.store.meta.champion_step()
        deployed = await app.store.meta.deployed_step()
        copies = tuple(await app.store.catalog.copies(cp.name)) if cp is not None else ()
        board = await champion_board(app.store, top=100_000)
        rank = rank_text(next((e for e in board if e.step == self.step), None), len(board))
        key = (cp, tuple((e.skill, e.level, e.correct, e.total) for e in evals), champion, deployed, copies, rank)
        if key == self.shown:
            return
        self.shown = key
        if cp is None:
            self.query_one("#cp-facts", Static).update(f"checkpoint-{self.step} is not in the vault any more.")
            return
        self.query_one("#cp-title", Label).update(cp.name)
        self.query_one("#cp-facts", Static).update(facts(cp, champion, deployed, copies, rank))
        self.query_one("#cp-evals", Static).update(evaluation_lines(evals))
        self.query_one("#cp-ledger", Static).update("\n".join(ledger_lines(cp.ledger)) or "(empty ledger)")

    def action_close(self) -> None:
        self.dismiss(None)
