"""Every action of the game in the command palette (ctrl+p)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from backend.command_kinds import CommandKind
from game.modes import MODES

if TYPE_CHECKING:
    from game.host import RealmHost

STRATEGIES = ("equal", "focus", "weighted", "catch-up")


def realm_commands(app: "RealmHost", screen: Screen[Any]) -> Iterator[SystemCommand]:
    for mode in MODES:
        yield SystemCommand(f"Open {mode.palette_label}", mode.palette_text, lambda m=mode.id: app.switch_mode(m))
    yield SystemCommand("New quest…", "post a quest file or generate one", lambda: new_quest(app))
    yield SystemCommand("Generate a quest…", "from a skill, a level and a count", lambda: new_quest(app, "generate"))
    yield SystemCommand("Pause battle", "the engine holds at its current step", lambda: app.send(CommandKind.PAUSE, done="Battle paused"))
    yield SystemCommand("Resume battle", "carry on training", lambda: app.send(CommandKind.RESUME, done="Battle resumed"))
    yield SystemCommand("Stop battle…", "save a checkpoint and rest until you resume", app.confirm_stop)
    yield SystemCommand("Checkpoint now", "save a checkpoint of the battle", lambda: app.send(CommandKind.CHECKPOINT_NOW, done="Checkpoint saved"))
    yield SystemCommand("Promote a checkpoint…", "make it the champion", lambda: pick_checkpoint(app, "promote"))
    yield SystemCommand("Load a checkpoint on the node…", "or the base model, so the Oracle can answer with it", lambda: pick_checkpoint(app, "load"))
    for strategy in STRATEGIES:
        yield SystemCommand(f"Change strategy: {strategy}", "which skill the next generated quest trains",
                            lambda s=strategy: change_strategy(app, s))
    yield SystemCommand("VRAM calculator", "memory a training micro-batch needs, against common GPUs", lambda: open_vram(app))
    yield SystemCommand("Switch save…", "open another save slot (or create one)", app.action_switch_save)
    yield SystemCommand("Shut the daemon down…", "training stops after a checkpoint; the app stays open", lambda: shutdown(app))
    yield SystemCommand("Refresh now", "re-read the database", app.poll_now)
    yield SystemCommand("Help", "every screen and key", app.action_help)


def new_quest(app: "RealmHost", tab: str = "file") -> None:
    from game.screens.new_quest import NewQuestScreen

    def chosen(result: tuple[str, dict] | None) -> None:
        if result:
            kind, payload = result
            app.send(kind, payload, done="Quest posted" if kind == CommandKind.QUEST_ADD else "Quest generated")

    app.push_screen(NewQuestScreen(tab), chosen)


def pick_checkpoint(app: "RealmHost", purpose: str) -> None:
    from game.screens.confirm import ConfirmScreen
    from game.screens.pick_checkpoint import BASE, PickCheckpointScreen

    def chosen(step: int | str | None) -> None:
        if step is None:
            return
        if step == BASE:
            app.send(CommandKind.NODE_LOAD, {"base": True}, done="the base model is loaded on the node")
            return
        if purpose == "load":
            app.send(CommandKind.NODE_LOAD, {"step": step}, done=f"checkpoint-{step} loaded on the node")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                app.send(CommandKind.PROMOTE, {"step": step}, done=f"checkpoint-{step} is the champion")

        app.push_screen(ConfirmScreen(f"Promote checkpoint-{step} to champion?",
                                      "The champion is the checkpoint the node serves by default.", yes="Promote"), confirmed)

    title = "Promote which checkpoint?" if purpose == "promote" else "Load which checkpoint on the node?"
    app.push_screen(PickCheckpointScreen(title, with_base=purpose == "load"), chosen)


def change_strategy(app: "RealmHost", strategy: str) -> None:
    if strategy != "focus":
        app.send(CommandKind.CURRICULUM_SET, {"strategy": strategy}, done=f"Curriculum strategy: {strategy}")
        return
    from game.screens.pick_skill import PickSkillScreen

    def chosen(skill: str | None) -> None:
        if skill:
            app.send(CommandKind.CURRICULUM_SET, {"strategy": "focus", "focus": skill}, done=f"Curriculum: focus on {skill}")

    app.push_screen(PickSkillScreen("Focus on which skill?"), chosen)


def open_vram(app: "RealmHost") -> None:
    from game.screens.vram import VramScreen

    app.push_screen(VramScreen())


def shutdown(app: "RealmHost") -> None:
    from game.screens.confirm import ConfirmScreen

    def chosen(yes: bool | None) -> None:
        if yes:
            app.send(CommandKind.SHUTDOWN, done="The daemon is shutting down")

    app.push_screen(ConfirmScreen("Shut the daemon down?", "The battle saves a checkpoint; training stops until the daemon "
                                  "starts again (reopen the app, or `realm daemon start`).", yes="Shut down"), chosen)
