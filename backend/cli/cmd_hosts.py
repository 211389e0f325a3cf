"""realm hosts: every host the save works with (trainer, inference node, storage zones, skill
servers), by role, with live status."""

from __future__ import annotations

import argparse
import json
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.config import check_config
from backend.errors import UserFacingError


def register(sub: Any) -> None:
    p = add_command(sub, "hosts", cmd_hosts, "the hosts of this save (trainer, inference, storage, skills) with live status")
    p.add_argument("--json", action="store_true")


def cmd_hosts(args: argparse.Namespace) -> int:
    from backend.hosts import as_json, statuses

    slot = existing_slot(args)
    config, problems = check_config(slot.config_path)
    if config is None:
        raise UserFacingError(f"realm.yaml has {len(problems)} problem(s), first: {problems[0].render()}",
                              fix="`realm config check` names each one")
    found = run(statuses(slot, config))
    local = config.hosts.inference.url == "local"  # the daemon starts it: not running is no failure
    code = 0 if all(s.ok for s in found if not (s.entry.name == "inference" and local)) else 1
    if args.json:
        print(json.dumps([as_json(s) for s in found], indent=1))
        return code
    for s in found:
        mark = "✓" if s.ok else "✗"
        print(f"{mark} {s.entry.name:<12} {s.entry.role:<10} {s.entry.address}")
        print(f"  {'':<12} {s.entry.detail}; {s.status}")
        if not s.ok and s.fix:
            print(f"  {'':<12} fix: {s.fix}")
    return code
