"""The save slot: one folder holding everything a player owns (see docs/architecture.md)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAVES_DIR = PROJECT_ROOT / "saves"

QUEST_STATES = ("validating", "queued", "processing", "completed", "failed", "deleted")


def resolve_save_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--save PATH wins, then $REALM_SAVE, then saves/default in the project."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("REALM_SAVE")
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_SAVES_DIR / "default"


def save_from_args(args: argparse.Namespace) -> "SaveSlot":
    return SaveSlot(resolve_save_path(getattr(args, "save", None)))


@dataclass(frozen=True)
class SaveSlot:
    """Paths inside one save slot. Creating folders is `ensure_layout`'s job."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def config_path(self) -> Path:
        return self.root / "realm.yaml"

    @property
    def db_path(self) -> Path:
        return self.root / "realm.db"

    @property
    def hero_dir(self) -> Path:
        return self.root / "hero"

    @property
    def base_model_dir(self) -> Path:
        """The hero's base model (nano DIO is created here; a real rig may point elsewhere)."""
        return self.hero_dir / "base"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "inbox"

    @property
    def quests_dir(self) -> Path:
        return self.root / "quests"

    def quest_state_dir(self, state: str) -> Path:
        if state not in QUEST_STATES:
            raise ValueError(f"unknown quest state {state!r}; expected one of {QUEST_STATES}")
        return self.quests_dir / state

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def backups_dir(self) -> Path:
        return self.root / "backups"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def run_dir(self) -> Path:
        """Lock files, pid files and sockets of running processes."""
        return self.root / "run"

    @property
    def tui_state_path(self) -> Path:
        """What the TUI last showed the player (for 'While you were away')."""
        return self.root / "tui_state.json"

    def layout(self) -> list[Path]:
        dirs = [
            self.root,
            self.hero_dir,
            self.checkpoints_dir,
            self.inbox_dir,
            self.quests_dir,
            self.logs_dir,
            self.backups_dir,
            self.exports_dir,
            self.run_dir,
        ]
        dirs += [self.quest_state_dir(s) for s in QUEST_STATES]
        return dirs

    def ensure_layout(self) -> list[Path]:
        """Create missing folders; return the ones that were created."""
        created = []
        for d in self.layout():
            if not d.is_dir():
                d.mkdir(parents=True, exist_ok=True)
                created.append(d)
        return created

    def exists(self) -> bool:
        return self.config_path.is_file() and self.db_path.is_file()
