"""The `realm` command line: one sub-command module per group.

Each module in COMMAND_MODULES exposes ``register(subparsers)`` which adds its
sub-command(s) and sets ``func`` (``args -> int``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES: tuple[str, ...] = (
    "backend.cli.cmd_init",
    "backend.cli.cmd_status",
    "backend.cli.cmd_config",
    "backend.cli.cmd_daemon",
    "backend.cli.cmd_quest",
    "backend.cli.cmd_battle",
    "backend.cli.cmd_lineage",
    "backend.cli.cmd_tasks",
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


from backend.errors import UserFacingError  # noqa: E402  (after main to keep import order readable)

if __name__ == "__main__":
    sys.exit(main())
