"""The one registry of the game's modes: id, key, label, what the command palette and Help say,
and the screen. The app's bindings and screens, the mode bar, the palette and Help all read it,
so adding a mode is one entry here plus its screen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mode:
    id: str
    key: str
    label: str
    palette_label: str
    palette_text: str
    help: str  # Help's summary of the screen (README "Screens and keys")
    screen: str  # "module:Class", imported when the mode is first opened (keeps start-up fast)

    def screen_class(self) -> type[Any]:
        module, name = self.screen.split(":")
        return getattr(importlib.import_module(module), name)

    def factory(self) -> Callable[[], Any]:
        return lambda: self.screen_class()()


MODES: tuple[Mode, ...] = (
    Mode("tavern", "t", "Tavern", "Tavern", "DIO, the battle and the chronicle",
         "DIO's portrait (it changes with the level tier), level and XP bar, ATK, DEF, ACC and gold; the battle: "
         "quest, skill and level, progress with steps and ETA, loss sparkline, tokens/s (MFU on a GPU); from 40 rows "
         "(or with h) each skill's train loss over the campaign, with its checkpoints and level-ups; the chronicle "
         "of events; daemon and inference node status. Toasts announce quests completed, level-ups, skill level-ups, "
         "new champions and achievements.", "game.screens.tavern:TavernScreen"),
    Mode("quests", "q", "Quests", "Quest board", "post, reorder, delete and retry quests",
         "Every quest: state, priority, name, skill and level, examples, progress, validation. The details show the "
         "validation report with the bad lines.", "game.screens.quests:QuestsScreen"),
    Mode("vault", "v", "Vault", "Vault", "checkpoints: promote, export, pin, spar, load on the node",
         "Checkpoints: step, name, date, train and validation loss, accuracy per skill, size, where its copies are "
         "(disk: this save's folder; node: uploaded to the inference node; deleted: removed by retention, its record "
         "kept), 👑 champion, 🚀 deployed (the one the node serves), 📌 pinned; disk used and free; from 40 rows (or "
         "with h) validation loss and each skill's accuracy across checkpoints. The champion, the deployed checkpoint "
         "and the newest cannot be deleted.", "game.screens.vault:VaultScreen"),
    Mode("oracle", "o", "Oracle", "Oracle", "chat with a checkpoint on the inference node",
         "Chat with a checkpoint loaded on the inference node (the base model too); the answer streams in and its "
         "header names the checkpoint that answered (step, short sha256) as the node confirmed it. Type and press "
         "enter to ask (ctrl+j starts a new line: an SY puzzle can be asked as the skill writes it); ctrl+t quizzes it on a fresh problem of a skill, graded by the skill. The conversation is kept "
         "with the save.", "game.screens.oracle:OracleScreen"),
    Mode("guild", "g", "Guild", "Guild", "skills, accuracy history and the curriculum",
         "Each skill: mastered and training level of its maximum, accuracy history per level, evaluation count; the "
         "curriculum strategy and each skill's plan (sent to the daemon); from 40 rows (or with h) the selected "
         "skill's accuracy per level over steps with the mastery bar; b: the background tasks.",
         "game.screens.guild:GuildScreen"),
    Mode("settings", "s", "Settings", "Settings", "realm.yaml and the VRAM calculator",
         "Every value of realm.yaml, validated as you type; locked values are marked 🔒 and ask before changing.",
         "game.screens.settings:SettingsScreen"),
)


def mode(mode_id: str) -> Mode:
    return next(m for m in MODES if m.id == mode_id)
