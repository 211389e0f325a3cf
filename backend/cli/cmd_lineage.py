"""realm lineage: validation outcomes per generator and per validator."""

from __future__ import annotations

import argparse
import json
from typing import Any

from backend.cli.common import add_command, existing_slot, run
from backend.fmt import fmt_count, fmt_percent
from backend.store import Store
from backend.store.lineage import LineageRow

OFFENDER_SHARE = 0.05


def register(sub: Any) -> None:
    p = add_command(sub, "lineage", cmd_lineage, "validation outcomes per generator and validator (fail rates, top reasons)")
    p.add_argument("--json", action="store_true")


async def load(args: argparse.Namespace) -> list[LineageRow]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await store.lineage.all()


def cmd_lineage(args: argparse.Namespace) -> int:
    rows = run(load(args))
    if args.json:
        print(json.dumps([{**r.__dict__, "fail_rate": r.fail_rate} for r in rows], indent=2))
        return 0
    if not rows:
        print("No quest has been validated yet.")
        return 0
    for kind in ("generator", "validator"):
        print(f"{kind.title()}s:")
        print(f"  {'name':<24} {'version':<10} {'validations':>11} {'passed':>7} {'failed':>7} {'fail rate':>9}  top reasons")
        for r in (r for r in rows if r.kind == kind):
            top = ", ".join(f"{k} ×{fmt_count(v)}" for k, v in sorted(r.reasons.items(), key=lambda kv: -kv[1])[:3]) or "-"
            print(f"  {r.name:<24} {r.version:<10} {r.validations:>11} {r.passed:>7} {r.failed:>7} {fmt_percent(r.fail_rate, 1):>9}  {top}")
            for off in r.offenders[-5:]:
                share = off["bad"] / off["total"] if off["total"] else 0
                if share > OFFENDER_SHARE:
                    print(f"      worst offender: {off['file']} — {fmt_count(off['bad'])}/{fmt_count(off['total'])} lines rejected ({fmt_percent(share, 1)})")
    return 0
