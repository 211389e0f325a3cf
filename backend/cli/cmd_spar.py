"""realm spar [--checkpoint STEP] [--skill S] [--level N] [--count N]: a sparring bout on demand.
The chosen checkpoint answers problems on the inference node; the score is printed and the
wrong answers become a HIGH-priority sparring quest, as in the campaign's own sparring."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.common import add_command, run
from backend.cli.daemon_ask import ask_daemon
from backend.command_kinds import CommandKind

SPAR_TIMEOUT_S = 1800.0


def register(sub: Any) -> None:
    p = add_command(sub, "spar", cmd_spar, "a sparring bout now: a checkpoint answers problems, its wrong answers "
                    "become a HIGH-priority quest")
    p.add_argument("--checkpoint", type=int, metavar="STEP", help="default: the deployed champion, else the newest")
    p.add_argument("--skill", help="default: the skill that checkpoint trained, else the first enabled")
    p.add_argument("--level", type=int, help="default: the skill's training level")
    p.add_argument("--count", type=int, help="problems (default: sparring.problems)")
    p.add_argument("--timeout", type=float, default=SPAR_TIMEOUT_S, help="seconds to wait for the bout")


def cmd_spar(args: argparse.Namespace) -> int:
    payload = {"step": args.checkpoint, "skill": args.skill, "level": args.level, "count": args.count}
    result = run(ask_daemon(args, CommandKind.SPAR, payload, args.timeout, "sparring"))
    print(result["line"])
    if result["quest_id"] is None and not result["wrong"]:
        print("Nothing to learn from this bout: no sparring quest was queued.")
    return 0
