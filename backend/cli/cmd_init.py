"""realm init: create a save slot."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.common import add_command, run
from backend.errors import UserFacingError
from backend.savegame import init_save
from backend.slot import save_from_args
from backend.store.integrity import list_backups


def register(sub: Any) -> None:
    p = add_command(sub, "init", cmd_init,
                    "create a save slot (folders, commented realm.yaml, database); safe to run again")
    p.add_argument("--fresh", action="store_true",
                   help="start an empty history even though the save has backups of its database")


def cmd_init(args: argparse.Namespace) -> int:
    slot = save_from_args(args)
    backups = list_backups(slot.backups_dir) if slot.backups_dir.is_dir() else []
    if not slot.db_path.exists() and backups and not args.fresh:
        raise UserFacingError(
            f"{slot.root} has no database but {len(backups)} backup(s) of one (newest: {backups[0].name}); "
            "init would start an empty history",
            fix="`realm daemon start` restores the newest backup and says what was lost; `realm init --fresh` "
                "starts empty anyway (the backups, hero, checkpoints and quest files are kept)")
    report = run(init_save(slot))
    if not report.changed:
        print(f"Save slot {slot.root} is already set up; nothing changed.")
        return 0
    print(f"Save slot ready: {slot.root}")
    if report.wrote_config:
        print(f"  wrote {slot.config_path} (every setting at its default, with comments)")
    if report.created_db:
        print(f"  created {slot.db_path}")
    for d in report.created_dirs:
        if d != slot.root:
            print(f"  created {d.relative_to(slot.root)}/")
    print("Next: `realm-tui` to play, or `realm daemon start` to train in the background.")
    return 0
