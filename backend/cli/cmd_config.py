"""realm config check|show|set|defaults."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.config import check_config, render_config
from backend.config.edit import set_value
from backend.config.locks import LOCK_META_KEY, is_locked_key, lock_violations, value_at
from backend.errors import UserFacingError
from backend.store import Store


def register(sub: Any) -> None:
    group = sub.add_parser("config", help="check, show or change realm.yaml", description="check, show or change realm.yaml")
    inner = group.add_subparsers(dest="config_command", metavar="ACTION")
    add_command(inner, "check", cmd_check, "validate realm.yaml and environment overrides; name every bad key")
    add_command(inner, "show", cmd_show, "print the effective settings (file plus environment overrides)")
    add_command(inner, "defaults", cmd_defaults, "print a commented realm.yaml with every default")
    p = add_command(inner, "set", cmd_set, "change one key (validated; locked keys need --force)")
    p.add_argument("key", help="dotted key, e.g. training.learning_rate")
    p.add_argument("value", help="new value (YAML syntax)")
    p.add_argument("--force", action="store_true", help="change a locked key (recorded in the event log)")
    group.set_defaults(func=lambda args: (group.print_help(), 0)[1])


async def read_lock(db_path: Any) -> dict[str, Any] | None:
    if not db_path.exists():
        return None
    async with await Store.open(db_path) as store:
        return await store.meta.get(LOCK_META_KEY)


def cmd_check(args: argparse.Namespace) -> int:
    slot = existing_slot(args)
    config, problems = check_config(slot.config_path)
    if config is not None:
        problems = lock_violations(config, run(read_lock(slot.db_path)))
    if not problems:
        print(f"{slot.config_path}: OK")
        return 0
    print(f"{slot.config_path}: {len(problems)} problem(s)")
    for p in problems:
        print("  " + p.render().replace("\n", "\n  "))
    return 1


def cmd_show(args: argparse.Namespace) -> int:
    slot = existing_slot(args)
    config, problems = check_config(slot.config_path)
    if config is None:
        raise UserFacingError(f"realm.yaml has {len(problems)} problem(s)", where=str(slot.config_path), fix="run `realm config check`")
    print(render_config(config), end="")
    return 0


def cmd_defaults(args: argparse.Namespace) -> int:
    print(render_config(), end="")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    slot = existing_slot(args)
    current, _ = check_config(slot.config_path, {})
    lock = run(read_lock(slot.db_path))
    if lock and is_locked_key(args.key) and not args.force:
        raise UserFacingError(
            f"{args.key} is locked: this save has trained with it since step {lock.get('step', 0)}",
            where=str(slot.config_path),
            fix=f"changing it makes the checkpoints incompatible; if you mean it: realm config set {args.key} {args.value} --force",
        )
    config, problems = set_value(slot.config_path, args.key, args.value)
    if config is None:
        print(f"not changed — {len(problems)} problem(s):")
        for p in problems:
            print("  " + p.render().replace("\n", "\n  "))
        return 1
    if lock and is_locked_key(args.key):
        old = value_at(current, args.key) if current else None
        run(record_forced(slot.db_path, args.key, old, value_at(config, args.key)))
        print(f"{args.key} changed with --force; recorded in the event log.")
    print(f"{args.key} = {value_at(config, args.key)!r}")
    return 0


async def record_forced(db_path: Any, key: str, old: Any, new: Any) -> None:
    """The daemon applies this command: it records the event and moves the lock."""
    async with await Store.open(db_path) as store:
        await store.commands.submit("config_forced", {"key": key, "old": old, "new": new}, source="cli")
