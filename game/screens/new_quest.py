"""Post a new quest: a JSONL file (with path completion), or one generated from a
skill, level and count. Returns the command to send: (kind, payload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static, TabbedContent, TabPane

from backend.command_kinds import CommandKind
from game.paths import PathSuggester, check_file
from game.widgets.field import Field

PRIORITY_OPTIONS = [("normal", "normal"), ("high", "high"), ("low", "low")]


class NewQuestScreen(ModalScreen[tuple[str, dict[str, Any]] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "post", "Post quest"),
    ]

    def __init__(self, initial_tab: str = "file") -> None:
        super().__init__()
        self.initial_tab = initial_tab
        self.max_levels: dict[str, int | None] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="new-quest"):
            yield Label("New quest", classes="dialog-title")
            with TabbedContent(initial=self.initial_tab, id="quest-kind"):
                with TabPane("From a file", id="file"):
                    yield Static("A JSONL file (chat_sft_v1, completion_v1 or syllo_v1); it moves into the save.")
                    yield Field(placeholder="/path/to/quest.jsonl", id="quest-path", suggester=PathSuggester())
                with TabPane("Generate", id="generate"):
                    with Horizontal(classes="form-row"):
                        yield Label("Skill")
                        yield Select([], id="gen-skill", prompt="skill")
                    with Horizontal(classes="form-row"):
                        yield Label("Level")
                        yield Field(placeholder="blank = the training level", id="gen-level", type="integer")
                    with Horizontal(classes="form-row"):
                        yield Label("Examples")
                        yield Field("1000", id="gen-count", type="integer")
            with Horizontal(classes="form-row"):
                yield Label("Priority")
                yield Select(PRIORITY_OPTIONS, value="normal", allow_blank=False, id="quest-priority")
            yield Static("", id="quest-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Post (ctrl+s)", variant="primary", id="post")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        if self.initial_tab == "file":
            self.query_one("#quest-path", Field).focus()
        self.run_worker(self.load_skills(), exclusive=True, group="skills")

    async def load_skills(self) -> None:
        app: Any = self.app
        catalogue = await app.skill_catalogue()
        options: list[tuple[str, str]] = []
        if catalogue.cards:
            for sid, card in catalogue.cards.items():
                options.append((f"{card.icon} {card.name} ({sid})", sid))
                self.max_levels[sid] = card.max_level
        elif app.config is not None:
            for sid in app.config.curriculum.skills:
                options.append((sid.upper(), sid))
                self.max_levels[sid] = None
        select = self.query_one("#gen-skill", Select)
        select.set_options(options)
        if options:
            select.value = options[0][1]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "post":
            self.action_post()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Field.Submitted) -> None:
        self.action_post()

    def error(self, text: str) -> None:
        self.query_one("#quest-error", Static).update(text)

    def build(self) -> tuple[str, dict[str, Any]] | str:
        """The command, or what is wrong."""
        priority = self.query_one("#quest-priority", Select).value
        tab = self.query_one("#quest-kind", TabbedContent).active
        if tab == "file":
            path = self.query_one("#quest-path", Field).value.strip()
            problem = check_file(path)
            if problem:
                return problem
            return CommandKind.QUEST_ADD, {"path": str(Path(path).expanduser()), "priority": priority}
        skill = self.query_one("#gen-skill", Select).value
        if not isinstance(skill, str):
            return "choose a skill"
        level_text = self.query_one("#gen-level", Field).value.strip()
        count_text = self.query_one("#gen-count", Field).value.strip()
        level = None
        if level_text:
            level = int(level_text) if level_text.lstrip("-").isdigit() else -1
            top = self.max_levels.get(skill)
            if level < 1 or (top is not None and level > top):
                return f"level must be from 1 to {top}" if top else "level must be 1 or more"
        if not count_text.isdigit() or not 1 <= int(count_text) <= 1_000_000:
            return "examples must be a whole number from 1 to 1,000,000"
        return CommandKind.QUEST_GENERATE, {"skill": skill, "level": level, "count": int(count_text), "priority": priority}

    def action_post(self) -> None:
        result = self.build()
        if isinstance(result, str):
            self.error(result)
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
