"""realm doctor: check config, disk, database, daemon, engine, inference node and GPU."""

from __future__ import annotations

import argparse
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.config import check_config


def register(sub: Any) -> None:
    add_command(sub, "doctor", cmd_doctor, "check config, disk, database, daemon, engine, inference node and GPU")


def cmd_doctor(args: argparse.Namespace) -> int:
    from backend.doctor import run_checks  # httpx and the node client: only this command needs them

    slot = existing_slot(args)
    config, _ = check_config(slot.config_path)
    min_free = config.retention.min_free_disk_gb if config else 1.0
    failures = 0
    for check in run(run_checks(slot, min_free)):
        mark = "✓" if check.ok else ("!" if check.warn_only else "✗")
        print(f"{mark} {check.name:<15} {check.detail}")
        if not check.ok and check.fix:
            print(f"  {'':<15} fix: {check.fix}")
        failures += int(not check.ok and not check.warn_only)
    return 1 if failures else 0
