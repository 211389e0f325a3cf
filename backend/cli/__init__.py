"""The `realm` command line: one sub-command module per group.

Each module in COMMAND_MODULES exposes ``register(subparsers)`` which adds its
sub-command(s) and sets ``func`` (``args -> int``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

COMMAND_MODULES: tuple[str, ...] = (
    "backend.cli.cmd_init",
    "backend.cli.cmd_status",
    "backend.cli.cmd_config",
    "backend.cli.cmd_daemon",
    "backend.cli.cmd_logs",
    "backend.cli.cmd_service",
    "backend.cli.cmd_quest",
    "backend.cli.cmd_battle",
    "backend.cli.cmd_lineage",
    "backend.cli.cmd_tasks",
    "backend.cli.cmd_spar",
    "backend.cli.cmd_doctor",
    "backend.cli.cmd_skill",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realm",
        description="Realm of Training: manage a save slot, its daemon, quests, skills and checkpoints.",
    )
    add_save_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def add_save_option(parser: argparse.ArgumentParser) -> None:
    """Every command takes --save PATH (fallback: $REALM_SAVE, then saves/default)."""
    parser.add_argument(
        "--save",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="save slot folder (default: $REALM_SAVE, else saves/default in the project)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `realm status | head`
        sys.stderr.close()
        return 0
    except UserFacingError as exc:
        print(f"realm: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # damaged, locked beyond the timeout, or not a database at all
        print(f"realm: {database_trouble(args, exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"realm: {exc.strerror or exc}{where}\n  fix: check that the path exists and that you may read and "
              "write it; `realm doctor` checks the whole save", file=sys.stderr)
        return 2


def database_trouble(args: argparse.Namespace, exc: sqlite3.DatabaseError) -> UserFacingError:
    """What a database error means for the player, and what to do (never a traceback)."""
    slot = save_from_args(args)
    text = str(exc)
    if "locked" in text or "busy" in text:
        return UserFacingError(f"the save's database is busy ({text})", where=str(slot.db_path),
                               fix="try again in a moment; if it stays busy, `realm doctor` says who holds it")
    backups = list_backups(slot.backups_dir) if slot.backups_dir.is_dir() else []
    fix = ("start the daemon (`realm daemon start`): it sets the damaged file aside, restores the newest backup "
           f"({len(backups)} in {slot.backups_dir}) and says what was lost"
           if backups else "`realm doctor` checks the save; no backup was found to restore from")
    return UserFacingError(f"the save's database is damaged ({text})", where=str(slot.db_path), fix=fix)


from backend.errors import UserFacingError  # noqa: E402  (after main to keep import order readable)
from backend.slot import save_from_args  # noqa: E402
from backend.store.integrity import list_backups  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
