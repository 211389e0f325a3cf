"""realm service install|status|uninstall: keep the daemon running with a systemd user unit."""

from __future__ import annotations

import argparse
import os
from typing import Any

from backend.cli.common import add_command, existing_slot
from backend.errors import UserFacingError
from backend.service_unit import manual_steps, run_step, systemd_available, unit_dir, unit_name, unit_text


def register(sub: Any) -> None:
    group = sub.add_parser("service", help="keep the daemon running: a systemd user unit (restart on failure, "
                           "start at boot)", description="A systemd user unit per save.")
    inner = group.add_subparsers(dest="service_command", metavar="ACTION")
    p = add_command(inner, "install", cmd_install, "write, enable and start the save's unit")
    p.add_argument("--print", dest="print_only", action="store_true", help="only print the unit and the steps")
    add_command(inner, "status", cmd_status, "is the unit installed, enabled and running")
    add_command(inner, "uninstall", cmd_uninstall, "stop, disable and remove the save's unit")
    group.set_defaults(func=lambda args: (group.print_help(), 0)[1])


def unit_of(args: argparse.Namespace) -> tuple[Any, str, Any]:
    """(the save, its unit's name, the unit file's path)."""
    slot = existing_slot(args, restorable_ok=True)
    name = unit_name(slot)
    return slot, name, unit_dir() / name


def print_manual(slot: Any, why: str) -> int:
    print(f"{why}\nThe unit ({unit_name(slot)}):\n")
    print(unit_text(slot))
    print("Steps:")
    for step in manual_steps(slot):
        print(f"  {step}")
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    slot, name, path = unit_of(args)
    if args.print_only:
        return print_manual(slot, "Nothing was installed (--print).")
    if not systemd_available():
        return print_manual(slot, "systemd (a user session: `systemctl --user`) is not available here, so nothing "
                                  "was installed. Install the unit by hand, or run the daemon under your own "
                                  "supervisor with `realm daemon run`.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(slot), encoding="utf-8")
    print(f"Wrote {path}")
    for command in (["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", name]):
        step = run_step(*command)
        if not step.ok:
            raise UserFacingError(f"`{' '.join(command)}` failed: {step.output}", where=str(path),
                                  fix="see `systemctl --user status " + name + "` and `journalctl --user -u " + name + "`")
        print(f"  {' '.join(command)}: ok")
    linger = run_step("loginctl", "enable-linger", os.environ.get("USER", ""))
    print("  loginctl enable-linger: " + ("ok (starts at boot)" if linger.ok else
          f"not done ({linger.output or 'no loginctl'}); without it the daemon starts when you log in"))
    print(f"The daemon of {slot.root} now restarts on failure: `realm service status` to check.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _, name, path = unit_of(args)
    if not path.exists():
        print(f"Service: not installed ({name}); `realm service install` keeps the daemon running")
        return 0
    if not systemd_available():
        print(f"Service: {path} exists, but systemd's user session is not available here")
        return 0
    enabled = run_step("systemctl", "--user", "is-enabled", name).output or "unknown"
    active = run_step("systemctl", "--user", "is-active", name).output or "unknown"
    print(f"Service: {name} {enabled}, {active} ({path})")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    _, name, path = unit_of(args)
    if not path.exists():
        print(f"Service: not installed ({name}); nothing to remove")
        return 0
    if systemd_available():
        for command in (["systemctl", "--user", "disable", "--now", name], ["systemctl", "--user", "daemon-reload"]):
            step = run_step(*command)
            print(f"  {' '.join(command)}: {'ok' if step.ok else step.output}")
    path.unlink()
    print(f"Removed {path}; the daemon is no longer kept running (the save is untouched)")
    return 0
