"""realm tasks [--json] | realm tasks run NAME: the daemon's background tasks, when they ran,
when they run next and with what result; run one now."""

from __future__ import annotations

import argparse
import json
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.cli.daemon_ask import ask_daemon
from backend.command_kinds import CommandKind
from backend.fmt import fmt_duration
from backend.store import Store
from backend.store.rows import now

RUN_TIMEOUT_S = 1800.0


def register(sub: Any) -> None:
    p = add_command(sub, "tasks", cmd_tasks, "background tasks (evaluation, sparring, generation, retention, backups, "
                    "health ...): last run, next run, result; `realm tasks run NAME` runs one now")
    p.add_argument("--json", action="store_true")
    inner = p.add_subparsers(dest="tasks_command", metavar="ACTION")
    r = add_command(inner, "run", cmd_run, "run a background task now, whatever its cooldown, and print its result")
    r.add_argument("name")
    r.add_argument("--timeout", type=float, default=RUN_TIMEOUT_S, help="seconds to wait for the result")


async def load(args: argparse.Namespace) -> list[dict[str, Any]]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await store.tasks.all()


def next_text(t: dict[str, Any], at: float) -> str:
    if not t["next_run_at"]:
        return "when due"
    wait = t["next_run_at"] - at
    return "when due" if wait <= 0 else f"in {fmt_duration(wait)}"


def cmd_tasks(args: argparse.Namespace) -> int:
    tasks = run(load(args))
    if args.json:
        print(json.dumps(tasks, indent=2))
        return 0
    if not tasks:
        print("No background tasks registered yet (they appear once the daemon has run).")
        return 0
    at = now()
    print(f"{'task':<16} {'needs':<9} {'runs':>5} {'last run':>10} {'next':>11}  result")
    for t in tasks:
        ago = f"{fmt_duration(at - t['last_run_at'])} ago" if t["last_run_at"] else "never"
        result = f"{t['last_status'] or '-'}: {t['last_detail'] or ''}".rstrip(": ")
        print(f"{t['name']:<16} {t['resource'] or '-':<9} {t['runs']:>5} {ago:>10} {next_text(t, at):>11}  {result}")
        if t["description"]:
            print(f"{'':<16} {t['description']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    result = run(ask_daemon(args, CommandKind.TASK_RUN, {"name": args.name}, args.timeout, f"{args.name} running"))
    print(f"{result['task']}: {result['status']}: {result['outcome']}")
    return 0
