"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from backend.cli import add_save_option
from backend.config import RealmConfig, load_config
from backend.errors import SaveNotFound
from backend.slot import SaveSlot, save_from_args
from backend.store.integrity import list_backups

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def add_command(sub: Any, name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
    """A sub-command that also accepts --save after its name."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    add_save_option(parser)
    parser.set_defaults(func=func)
    return parser


def existing_slot(args: argparse.Namespace, restorable_ok: bool = False) -> SaveSlot:
    """The save named by the arguments. restorable_ok: a save whose database is missing but has
    backups is fine too (the daemon restores it when it starts)."""
    slot = save_from_args(args)
    if slot.config_path.is_file() and not slot.db_path.is_file():
        backups = list_backups(slot.backups_dir) if slot.backups_dir.is_dir() else []
        if backups and restorable_ok:
            return slot
        if backups:
            raise SaveNotFound(f"the save's database is missing ({slot.db_path}); backups/ holds {len(backups)} "
                               "backup(s)", fix="`realm daemon start` restores the newest one and says what was "
                               "lost (nothing else is touched)")
        raise SaveNotFound(f"the save's database is missing ({slot.db_path}) and there is no backup to restore",
                           fix="`realm init` starts a new history in this save; its realm.yaml, hero, checkpoints "
                               "and quest files are kept, and the daemon records them again")
    if not slot.exists():
        raise SaveNotFound(
            f"no save slot at {slot.root}",
            fix=f"create it with `realm init --save {slot.root}` (or point --save / REALM_SAVE at an existing save)",
        )
    return slot


def slot_and_config(args: argparse.Namespace, restorable_ok: bool = False) -> tuple[SaveSlot, RealmConfig]:
    slot = existing_slot(args, restorable_ok)
    return slot, load_config(slot.config_path)
