"""The `realm` command line: one sub-command module per group.

Each module in COMMANDS (command -> module; only the invoked one is imported) exposes ``register(subparsers)`` which adds its
sub-command(s) and sets ``func`` (``args -> int``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

COMMANDS: dict[str, str] = {  # command -> the module that registers it (imported only when it runs)
    "init": "backend.cli.cmd_init",
    "status": "backend.cli.cmd_status",
    "config": "backend.cli.cmd_config",
    "daemon": "backend.cli.cmd_daemon",
    "logs": "backend.cli.cmd_logs",
    "service": "backend.cli.cmd_service",
    "quest": "backend.cli.cmd_quest",
    "battle": "backend.cli.cmd_battle",
    "vault": "backend.cli.cmd_vault",
    "lineage": "backend.cli.cmd_lineage",
    "tasks": "backend.cli.cmd_tasks",
    "spar": "backend.cli.cmd_spar",
    "doctor": "backend.cli.cmd_doctor",
    "hosts": "backend.cli.cmd_hosts",
    "skill": "backend.cli.cmd_skill",
}
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


def command_of(argv: list[str]) -> str | None:
    """The command word of argv (skipping the global --save PATH), None when there is none."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--save":
            i += 2
            continue
        if arg.startswith("--save="):
            i += 1
            continue
        return arg if not arg.startswith("-") else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with argv naming a command, only that command's module is imported (a fast
    `realm status`), else every module (`realm --help`, a typo)."""
    parser = argparse.ArgumentParser(
        prog="realm",
        description="Realm of Training: manage a save slot, its daemon, quests, skills and checkpoints.",
    )
    add_save_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    word = command_of(argv) if argv is not None else None
    modules = (COMMANDS[word],) if word in COMMANDS else COMMAND_MODULES
    for name in modules:
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
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
