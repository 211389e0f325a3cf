"""Change one value of realm.yaml: validated as you type (backend.config.edit.proposed_config),
written with set_value. A locked value asks first, and the change is recorded by the
daemon (config_forced), as `realm config set --force` does."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from backend.command_kinds import CommandKind
from backend.config.edit import proposed_config, set_value
from backend.config.locks import value_at
from game.data.settings import SettingRow
from game.widgets.field import Field


class EditSettingScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, row: SettingRow, lock: dict[str, Any] | None) -> None:
        super().__init__()
        self.row = row
        self.lock = lock

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.row.key, classes="dialog-title")
            yield Static(self.row.description or "", markup=False)
            if self.row.locked:
                step = (self.lock or {}).get("step", 0)
                yield Static(f"🔒 Locked: this save has trained with it since step {step}. Changing it makes the "
                             "checkpoints incompatible; you will be asked to confirm, and the change is recorded.",
                             classes="error")
            if self.row.env:
                yield Static(f"Note: ${self.row.env} overrides this value while it is set.", markup=False)
            yield Field(self.row.value, id="setting-value")
            yield Static("", id="setting-problem", classes="error")
            yield Label("enter to save · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#setting-value", Field).focus()

    @property
    def path(self) -> Any:
        return self.app.slot.config_path  # type: ignore[attr-defined]

    def problems_for(self, value: str) -> list[str]:
        config, problems, _ = proposed_config(self.path, self.row.key, value)
        return [] if config is not None else [p.render() for p in problems]

    def on_input_changed(self, event: Field.Changed) -> None:
        problems = self.problems_for(event.value)
        self.query_one("#setting-problem", Static).update("\n".join(problems))

    def on_input_submitted(self, event: Field.Submitted) -> None:
        value = event.value
        problems = self.problems_for(value)
        if problems:
            self.query_one("#setting-problem", Static).update("\n".join(problems))
            return
        if self.row.locked:
            from game.screens.confirm import ConfirmScreen

            def chosen(yes: bool | None) -> None:
                if yes:
                    self.save(value, forced=True)

            self.app.push_screen(ConfirmScreen(f"Change the locked {self.row.key}?",
                                               "The checkpoints trained so far were made with the old value.",
                                               yes="Change it"), chosen)
            return
        self.save(value, forced=False)

    def save(self, value: str, forced: bool) -> None:
        app: Any = self.app
        old = value_at(app.config, self.row.key) if app.config is not None else None
        config, problems = set_value(self.path, self.row.key, value)
        if config is None:
            self.query_one("#setting-problem", Static).update("\n".join(p.render() for p in problems))
            return
        new = value_at(config, self.row.key)
        if forced:
            app.send(CommandKind.CONFIG_FORCED, {"key": self.row.key, "old": old, "new": new},
                     done=f"{self.row.key} changed by force (recorded in the chronicle)")
        app.notify(f"{self.row.key} = {new!r} (the daemon picks it up on its next heartbeat)", title="Saved")
        app.reload_config_if_changed()
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
