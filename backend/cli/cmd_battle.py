"""realm battle pause|resume|stop|checkpoint: the same commands the TUI sends."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.cmd_quest import report, send
from backend.cli.common import add_command, run
from backend.command_kinds import CommandKind

BATTLE = {
    "pause": (CommandKind.PAUSE, "pause the battle (and start no new one)", "Battles paused."),
    "resume": (CommandKind.RESUME, "resume battles", "Battles resumed."),
    "stop": (CommandKind.STOP_BATTLE, "save a checkpoint and end the battle (it resumes on `resume`)", "Battle stopped."),
    "checkpoint": (CommandKind.CHECKPOINT_NOW, "save a checkpoint now", "Checkpoint requested."),
}


def register(sub: Any) -> None:
    battle = sub.add_parser("battle", help="pause, resume, stop or checkpoint the current battle")
    inner = battle.add_subparsers(dest="battle_command", metavar="ACTION")
    for name, (kind, help_text, done) in BATTLE.items():
        add_command(inner, name, simple(kind, lambda a: {}, done), help_text)
    battle.set_defaults(func=lambda args: (battle.print_help(), 0)[1])


def simple(kind: str, payload: Any, done: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        command, running = run(send(args, kind, payload(args)))
        return report(command, running, done)
    return handler
