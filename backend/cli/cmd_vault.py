"""realm vault ...: list, query and manage checkpoints (the commands are the ones the TUI sends)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from backend.cli.cmd_battle import simple
from backend.cli.common import add_command, existing_slot
from backend.command_kinds import CommandKind
from backend.fmt import fmt_bytes, fmt_float, fmt_stamp
from backend.store import Store
from backend.vault.query import METRICS_HELP, best_checkpoints, locate, parse_metric, vault_entries

VAULT = {
    "promote": (CommandKind.PROMOTE, "make a checkpoint the champion and deploy it", "checkpoint-{champion} is the champion."),
    "delete": (CommandKind.CHECKPOINT_DELETE, "delete a checkpoint (never the champion, deployed or newest)", "checkpoint-{deleted} deleted."),
    "load": (CommandKind.NODE_LOAD, "load a checkpoint on the inference node", "{model} loaded on {node} ({sha256})."),
    "unload": (CommandKind.NODE_UNLOAD, "unload a checkpoint from the inference node", "checkpoint-{unloaded} unloaded."),
}
ZONE_MOVES = {
    "push": (CommandKind.CHECKPOINT_PUSH, "copy a checkpoint to a storage zone (hosts.storage), verified",
             "checkpoint-{step} is in {zone}: {path}"),
    "pull": (CommandKind.CHECKPOINT_PULL, "copy a checkpoint back from a storage zone to the trainer, verified",
             "checkpoint-{step} is back on the trainer: {path}"),
}


def register(sub: Any) -> None:
    vault = sub.add_parser("vault", help="list and manage checkpoints")
    inner = vault.add_subparsers(dest="vault_command", metavar="ACTION")
    p = add_command(inner, "list", cmd_list, "checkpoints with losses, evaluation, size and marks")
    p.add_argument("--json", action="store_true", help="every checkpoint as JSON: ledger facts, evaluations, marks")
    p = add_command(inner, "best", cmd_best, "the best checkpoints by a metric")
    p.add_argument("--metric", required=True, help=METRICS_HELP)
    p.add_argument("--top", type=int, default=5, help="how many (default 5)")
    p.add_argument("--json", action="store_true")
    for name, (kind, help_text, done) in VAULT.items():
        if name == "load":  # a checkpoint, or the hero's untrained base model
            p = add_command(inner, name, simple(kind, load_payload, done), help_text + " (or `base`: the base model)")
            p.add_argument("step", type=step_or_base, metavar="STEP|base")
            p.add_argument("--node", help="a node of hosts.nodes by name (default: hosts.inference)")
            continue
        if name == "unload":
            p = add_command(inner, name, simple(kind, lambda a: {"step": a.step, "node": a.node}, done), help_text)
            p.add_argument("step", type=int)
            p.add_argument("--node", help="a node of hosts.nodes by name (default: hosts.inference)")
            continue
        p = add_command(inner, name, simple(kind, lambda a: {"step": a.step}, done), help_text)
        p.add_argument("step", type=int)
    for name, (kind, help_text, done) in ZONE_MOVES.items():
        p = add_command(inner, name, simple(kind, lambda a: {"step": a.step, "zone": a.zone}, done), help_text)
        p.add_argument("step", type=int)
        p.add_argument("zone")
    p = add_command(inner, "verify", simple(CommandKind.VAULT_VERIFY, lambda a: {"zone": a.zone}, "{summary}"),
                    "re-hash every copy in a zone (or in all): missing or corrupt ones are reported, never served")
    p.add_argument("zone", nargs="?")
    p = add_command(inner, "scan", simple(CommandKind.TASK_RUN, lambda a: {"name": "vault_scan"}, "{outcome}"),
                    "register checkpoint folders the vault does not know (the trainer's and each storage zone's)")
    p = add_command(inner, "assets", cmd_assets, "the catalog: checkpoints, exports, database backups and the base "
                    "model, with their sha256, size and copies")
    p.add_argument("--json", action="store_true")
    p = add_command(inner, "locate", cmd_locate, "where a checkpoint's copies are (trainer, storage zones)")
    p.add_argument("step", type=int)
    p.add_argument("--json", action="store_true")
    p = add_command(inner, "pin", simple(CommandKind.CHECKPOINT_PIN, lambda a: {"step": a.step, "pinned": not a.unpin},
                                         "checkpoint-{step} pinned: {pinned}."), "keep a checkpoint through retention")
    p.add_argument("step", type=int)
    p.add_argument("--unpin", action="store_true")
    p = add_command(inner, "export", simple(CommandKind.CHECKPOINT_EXPORT,
                                            lambda a: {"step": a.step, "dest": a.dest, "merge": a.merge},
                                            "Exported to {path}."), "copy a checkpoint into a folder")
    p.add_argument("step", type=int)
    p.add_argument("dest")
    p.add_argument("--merge", action="store_true",
                   help="a LoRA checkpoint: merge it into its base, for tools without PEFT (vLLM, llama.cpp)")
    vault.set_defaults(func=lambda args: (vault.print_help(), 0)[1])


def step_or_base(text: str) -> int | str:
    if text == "base":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a checkpoint step nor `base`") from None


def load_payload(args: argparse.Namespace) -> dict[str, Any]:
    where = {"node": args.node} if args.node else {}
    return {"base": True, **where} if args.step == "base" else {"step": args.step, **where}


async def rows(args: argparse.Namespace) -> tuple[list[Any], dict[int, str], Any, Any]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        live = await store.checkpoints.live()
        accs = {r[0]: r[1] for r in await store.fetchall(
            "SELECT checkpoint_step, GROUP_CONCAT(UPPER(skill) || level || ' ' || correct || '/' || total, ', ') "
            "FROM evaluations GROUP BY checkpoint_step")}
        return live, accs, await store.meta.champion_step(), await store.meta.deployed_step()


async def entries(args: argparse.Namespace) -> list[dict[str, Any]]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await vault_entries(store, slot.root)


def cmd_list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(asyncio.run(entries(args)), indent=1, ensure_ascii=False))
        return 0
    live, accs, champion, deployed = asyncio.run(rows(args))
    if not live:
        print("The vault is empty: no checkpoint yet.")
        return 0
    for r in live:
        marks = "".join(m for m, on in (("👑", r.step == champion), ("🚀", r.step == deployed), ("📌", r.pinned)) if on)
        print(f"{r.step:>7}  {r.name:<32} train {fmt_float(r.train_loss, 3):>6}  val {fmt_float(r.val_loss, 3):>6}"
              f"  {fmt_bytes(r.size_bytes):>9}  {accs.get(r.step, '-'):<24} {marks}")
    return 0


async def best_rows(args: argparse.Namespace) -> tuple[str, list[tuple[Any, float]]]:
    metric = parse_metric(args.metric)
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return metric.label(), await best_checkpoints(store, metric, args.top)


def cmd_best(args: argparse.Namespace) -> int:
    label, ranked = asyncio.run(best_rows(args))
    if args.json:
        print(json.dumps([{"rank": n, "step": r.step, "name": r.name, "metric": label, "value": v}
                          for n, (r, v) in enumerate(ranked, 1)], indent=1))
        return 0
    print(f"Best by {label}:")
    for n, (r, value) in enumerate(ranked, 1):
        print(f"{n:>3}. {r.step:>7}  {r.name:<32} {label} {value:.4g}")
    return 0


async def located(args: argparse.Namespace) -> dict[str, Any]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await locate(store, slot.root, args.step)


def cmd_locate(args: argparse.Namespace) -> int:
    where = asyncio.run(located(args))
    if args.json:
        print(json.dumps(where, indent=1))
        return 0
    print(f"{where['name']}:" + ("" if where["copies"] else " no copy anywhere (retention removed it)"))
    for c in where["copies"]:
        checked = f"verified {fmt_stamp(c['verified_at'])}" if c["verified_at"] else "not verified yet"
        print(f"  {c['zone']:<10} {c['state']:<8} {fmt_bytes(c['size_bytes']):>9}  {checked}  {c['path']}")
    return 0


async def catalog_assets(args: argparse.Namespace) -> list[dict[str, Any]]:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await store.catalog.all()


def cmd_assets(args: argparse.Namespace) -> int:
    assets = asyncio.run(catalog_assets(args))
    if args.json:
        print(json.dumps(assets, indent=1))
        return 0
    if not assets:
        print("The catalog is empty: checkpoints enter it when they are copied or verified, backups when they are made.")
    for a in assets:
        zones = ", ".join(f"{c['zone']} ({c['state']})" for c in a["copies"]) or "no copy"
        print(f"{a['kind']:<10} {a['name']:<34} {fmt_bytes(a['size_bytes']):>9}  {(a['sha256'] or '-')[:12]}  {zones}")
    return 0
