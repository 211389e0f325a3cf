"""realm quest add|list|priority|delete|retry|show: the quest queue (through the daemon)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.command_kinds import CommandKind
from backend.commands_client import submit, wait_for
from backend.daemon.control import running_pid
from backend.daemon.intake import skipped_entries
from backend.daemon.moves import printable
from backend.errors import UserFacingError
from backend.fmt import fmt_count
from backend.quest_add import check_intake
from backend.quest_report import plain_report
from backend.store import Store

WAIT_S = 30.0


def register(sub: Any) -> None:
    group = sub.add_parser("quest", help="add, list and manage quests", description="Quests are training-data files.")
    inner = group.add_subparsers(dest="quest_command", metavar="ACTION")
    p = add_command(inner, "add", cmd_add, "move a JSONL file into the save as a new quest")
    p.add_argument("file", type=Path)
    p.add_argument("--priority", choices=("high", "normal", "low"), default="normal")
    p = add_command(inner, "list", cmd_list, "list quests (state, priority, progress, validation)")
    p.add_argument("--all", action="store_true", help="include deleted quests")
    p.add_argument("--json", action="store_true")
    p = add_command(inner, "show", cmd_show, "a quest's details with its validation report")
    p.add_argument("quest_id", type=int)
    p.add_argument("--json", action="store_true", help="the raw record, validation report included")
    p = add_command(inner, "priority", cmd_priority, "change a waiting quest's priority")
    p.add_argument("quest_id", type=int)
    p.add_argument("priority", choices=("high", "normal", "low"))
    p = add_command(inner, "delete", cmd_delete, "move a quest's file to quests/deleted/")
    p.add_argument("quest_id", type=int)
    p = add_command(inner, "retry", cmd_retry, "validate and queue a failed quest again")
    p.add_argument("quest_id", type=int)
    group.set_defaults(func=lambda args: (group.print_help(), 0)[1])


async def send(args: argparse.Namespace, kind: str, payload: dict[str, Any]) -> tuple[Any, bool]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        command_id = await submit(store, kind, payload, source="cli")
        if not running_pid(slot):
            return None, False
        return await wait_for(store, command_id, WAIT_S), True


def report(command: Any, daemon_running: bool, done_text: str) -> int:
    if not daemon_running:
        print("The daemon is not running: the request waits in the command table until `realm daemon start`.")
        return 0
    if command is None:
        print(f"The daemon has not answered within {WAIT_S:.0f}s; the request stays queued.")
        return 0
    if command.status == "failed":
        raise UserFacingError(command.result.get("error", "the daemon refused the request"))
    print(done_text.format(**(command.result or {})))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    path = args.file.expanduser().absolute()
    check_intake(existing_slot(args), path)
    command, running = run(send(args, CommandKind.QUEST_ADD, {"path": str(path), "priority": args.priority}))
    return report(command, running, "Quest #{quest_id} taken in; it is being validated (realm quest show {quest_id}).")


def cmd_priority(args: argparse.Namespace) -> int:
    command, running = run(send(args, CommandKind.QUEST_PRIORITY, {"quest_id": args.quest_id, "priority": args.priority}))
    return report(command, running, "Quest #{quest_id} is now {priority} priority.")


def cmd_delete(args: argparse.Namespace) -> int:
    command, running = run(send(args, CommandKind.QUEST_DELETE, {"quest_id": args.quest_id}))
    return report(command, running, "Quest #{quest_id} deleted; its file is in {moved_to}.")


def cmd_retry(args: argparse.Namespace) -> int:
    command, running = run(send(args, CommandKind.QUEST_RETRY, {"quest_id": args.quest_id}))
    return report(command, running, "Quest #{quest_id} is being validated again.")


async def fetch(args: argparse.Namespace, quest_id: int | None = None) -> Any:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        if quest_id is not None:
            return await store.quests.get(quest_id)
        return await store.quests.list()


def cmd_list(args: argparse.Namespace) -> int:
    quests = [q for q in run(fetch(args)) if args.all or q.state != "deleted"]
    skipped = skipped_entries(existing_slot(args).inbox_dir)
    if args.json:
        print(json.dumps([q.__dict__ for q in quests], default=str, indent=2))
        return 0
    for name, reason in skipped:
        print(f"Not taken from inbox/: {printable(name)} ({reason})")
    if not quests:
        print("No quests. Drop a JSONL file into the save's inbox/ or run `realm quest add FILE`.")
        return 0
    print(f"{'#':>5}  {'state':<10} {'prio':<6} {'skill':<7} {'examples':>9} {'progress':>11}  name")
    for q in quests:
        skill = f"{q.skill.upper()} {q.level}" if q.skill else "-"
        progress = f"{q.steps_done}/{q.steps_total}" if q.steps_total else "-"
        print(f"{q.id:>5}  {q.state:<10} {q.priority:<6} {skill:<7} {fmt_count(q.examples):>9} {progress:>11}  {q.name}"
              + (f"  ({q.fail_reason})" if q.fail_reason else ""))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    quest = run(fetch(args, args.quest_id))
    if quest is None:
        raise UserFacingError(f"there is no quest #{args.quest_id}", fix="see `realm quest list`")
    if args.json:
        print(json.dumps(quest.__dict__, default=str, indent=2, ensure_ascii=False))
        return 0
    print(plain_report(quest))
    return 0
