"""realm daemon start|stop|status|run."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from backend.cli.common import add_command, existing_slot, run, slot_and_config
from backend.daemon import control
from backend.errors import UserFacingError
from backend.fmt import fmt_duration
from backend.store import Store
from backend.store.rows import now


def register(sub: Any) -> None:
    group = sub.add_parser("daemon", help="start, stop or inspect the training daemon of a save",
                           description="The daemon trains, validates quests and evaluates checkpoints; one per save.")
    inner = group.add_subparsers(dest="daemon_command", metavar="ACTION")
    add_command(inner, "start", cmd_start, "start the daemon in the background (survives the terminal)")
    add_command(inner, "stop", cmd_stop, "ask the daemon to checkpoint the battle and exit")
    add_command(inner, "status", cmd_status, "is the daemon alive, and what is it doing")
    add_command(inner, "run", cmd_run, "run the daemon in the foreground (logs to the terminal)")
    group.set_defaults(func=lambda args: (group.print_help(), 0)[1])


def cmd_start(args: argparse.Namespace) -> int:
    slot, _ = slot_and_config(args, restorable_ok=True)
    result = control.start(slot)
    if result.error:
        raise UserFacingError(result.error, where=str(slot.root))
    if result.already_running:
        print(f"The daemon is already running (pid {result.pid}).")
    else:
        print(f"Daemon started (pid {result.pid}); logs in {control.log_path(slot)}.")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    slot = existing_slot(args)
    stopped, pid = control.stop(slot, progress=lambda msg: print(msg, flush=True))
    if pid is None:
        print("No daemon is running for this save.")
        return 0
    if not stopped:
        raise UserFacingError(f"the daemon (pid {pid}) did not exit in time", fix=f"see {control.log_path(slot)}; `kill {pid}` again if needed")
    print(f"Daemon stopped (pid {pid}).")
    return 0


async def read_heartbeat(args: argparse.Namespace) -> Any:
    slot = existing_slot(args)
    async with await Store.open(slot.db_path) as store:
        return await store.heartbeat.read()


def cmd_status(args: argparse.Namespace) -> int:
    slot = existing_slot(args)
    pid = control.running_pid(slot)
    beat = run(read_heartbeat(args))
    if pid:
        detail = f", {beat.state}, last beat {fmt_duration(now() - beat.beat_at)} ago, up {fmt_duration(now() - beat.started_at)}" if beat else ""
        print(f"Daemon: running (pid {pid}{detail})")
        return 0
    print("Daemon: not running" + (f" (last seen pid {beat.pid}, {beat.state})" if beat else "") + " — `realm daemon start`")
    return 3


def cmd_run(args: argparse.Namespace) -> int:
    from backend.daemon.service import Daemon

    from backend.daemon.logs import setup_daemon_logging

    slot, config = slot_and_config(args, restorable_ok=True)
    setup_daemon_logging(control.log_path(slot), config.daemon, to_stderr=sys.stderr.isatty())
    return asyncio.run(Daemon(slot).run())
