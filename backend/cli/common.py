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

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def add_command(sub: Any, name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
    """A sub-command that also accepts --save after its name."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    add_save_option(parser)
    parser.set_defaults(func=func)
    return parser


def existing_slot(args: argparse.Namespace) -> SaveSlot:
    slot = save_from_args(args)
    if not slot.exists():
        raise SaveNotFound(
            f"no save slot at {slot.root}",
            fix=f"create it with `realm init --save {slot.root}` (or point --save / REALM_SAVE at an existing save)",
        )
    return slot


def slot_and_config(args: argparse.Namespace) -> tuple[SaveSlot, RealmConfig]:
    slot = existing_slot(args)
    return slot, load_config(slot.config_path)
