"""realm status: the hero, the battle, the queue, the daemon and node, from the database alone."""

from __future__ import annotations

import argparse
import json
from typing import Any

from backend.cli.common import add_command, run, slot_and_config
from backend.fmt import fmt_count, fmt_duration, fmt_float, fmt_percent
from backend.store import Store
from backend.views import StatusView, as_dict, read_status


def register(sub: Any) -> None:
    p = add_command(sub, "status", cmd_status, "print the hero's stats, the current battle, the queue and process liveness")
    p.add_argument("--json", action="store_true", help="machine-readable output")


async def load(args: argparse.Namespace) -> StatusView:
    slot, config = slot_and_config(args)
    async with await Store.open(slot.db_path) as store:
        return await read_status(store, config)


def cmd_status(args: argparse.Namespace) -> int:
    view = run(load(args))
    if args.json:
        print(json.dumps(as_dict(view), indent=2, default=str))
    else:
        print("\n".join(render(view)))
    return 0


def render(view: StatusView) -> list[str]:
    s = view.stats
    into, need = s.xp_in_level
    lines = [
        f"{view.hero_name} — level {s.level}  ({fmt_count(into)}/{fmt_count(need)} XP to next, {fmt_count(s.xp)} XP in all)",
        f"  ATK {fmt_float(s.atk, 1)}   DEF {fmt_float(s.defense, 1)}   ACC {fmt_percent(s.acc)}"
        + (f" ({s.current_skill.upper()} L{s.training_level})" if s.current_skill and s.acc is not None else "")
        + f"   Gold {fmt_count(s.gold)}",
    ]
    if s.skill_levels:
        lines.append("  Skills: " + ", ".join(
            f"{k.upper()} {v}" + (f" (rusty: L{', L'.join(map(str, s.rusty(k)))})" if s.rusty(k) else "")
            for k, v in sorted(s.skill_levels.items())))
    if s.goal():
        lines.append(f"  Next goal: {s.goal()}")
    lines.append(render_battle(view))
    q = view.queued
    lines.append(
        f"Queue: {q['high']} high, {q['normal']} normal, {q['low']} low"
        f"   (completed {view.counts['completed']}, failed {view.counts['failed']}, validating {view.counts['validating']})"
    )
    lines.append(render_daemon(view))
    node = view.node
    node_text = f"{node.status} at {node.url}" if node else "unknown (no daemon has checked it yet)"
    lines.append(f"Inference node: {'alive' if view.node_alive else 'not confirmed'} — {node_text}")
    if view.restore is not None:
        lines += ["Restored:"] + [f"  {line}" for line in view.restore.lines()]
    return lines


def render_battle(view: StatusView) -> str:
    b = view.battle
    if b is None:
        return "Battle: none (resting)"
    step, total = b.progress
    where = f"{b.quest.skill.upper()} L{b.quest.level}" if b.quest.skill else "custom"
    m = b.metric
    extra = ""
    if m:
        extra = f", loss {fmt_float(m.loss, 3)}, ETA {fmt_duration(m.eta_s)}, {fmt_count(m.tokens_per_s)} tok/s"
    paused = " [PAUSED]" if b.paused else ""
    return f"Battle: {b.quest.name} ({where}) step {fmt_count(step)}/{fmt_count(total)}{extra}{paused}"


def render_daemon(view: StatusView) -> str:
    d = view.daemon
    if d is None:
        return "Daemon: never started (realm daemon start)"
    if view.daemon_alive:
        return f"Daemon: alive, pid {d.pid}, {d.state}"
    if d.state != "stopped":
        return (f"Daemon: DEAD — it did not stop cleanly (last seen pid {d.pid}, {d.state}); nothing trains. Start it "
                "with `realm daemon start`; `realm service install` restarts it by itself from now on")
    return f"Daemon: not running (last seen pid {d.pid}, state {d.state}) — start it with `realm daemon start`"
