"""realm tasks: the daemon's background tasks and when they last ran."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.fmt import fmt_duration
from backend.store import Store
from backend.store.rows import now


def register(sub: Any) -> None:
    add_command(sub, "tasks", cmd_tasks, "background tasks (evaluation, sparring, generation, retention, backups, health)")


async def load(args: argparse.Namespace) -> list[dict[str, Any]]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await store.tasks.all()


def cmd_tasks(args: argparse.Namespace) -> int:
    tasks = run(load(args))
    if not tasks:
        print("No background tasks registered yet (they appear once the daemon has run).")
        return 0
    print(f"{'task':<20} {'prio':>4} {'cooldown':>9} {'runs':>6} {'last run':>10}  status")
    for t in tasks:
        ago = f"{fmt_duration(now() - t['last_run_at'])} ago" if t["last_run_at"] else "never"
        status = f"{t['last_status'] or '-'} {t['last_detail'] or ''}".strip()
        print(f"{t['name']:<20} {t['priority']:>4} {fmt_duration(t['cooldown_s']):>9} {t['runs']:>6} {ago:>10}  {status}")
    return 0
