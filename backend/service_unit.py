"""A systemd user unit that keeps a save's daemon running: started at boot (with lingering),
restarted when it fails. `realm service install|status|uninstall` (backend.cli.cmd_service)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from backend.slot import SaveSlot


def unit_name(slot: SaveSlot) -> str:
    """realm-<save name>-<8 hex of its path>.service: one unit per save, stable for its path."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", slot.root.name)[:40] or "save"
    digest = hashlib.sha256(str(slot.root.resolve()).encode()).hexdigest()[:8]
    return f"realm-{name}-{digest}.service"


def unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def unit_text(slot: SaveSlot, python: str = sys.executable) -> str:
    root = slot.root.resolve()
    return "\n".join([
        "[Unit]",
        f"Description=Realm of Training daemon for the save {root}",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={python} -m backend.cli daemon run --save {root}",
        f"WorkingDirectory={root}",
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        "RestartSec=10",
        "# SIGTERM: the daemon checkpoints the battle and exits; give a large model time to save",
        "TimeoutStopSec=300",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def manual_steps(slot: SaveSlot) -> list[str]:
    name = unit_name(slot)
    return [f"write the unit above to {unit_dir() / name}",
            "systemctl --user daemon-reload",
            f"systemctl --user enable --now {name}",
            f"loginctl enable-linger {os.environ.get('USER', '$USER')}   # start at boot, without logging in"]


@dataclass(frozen=True)
class Step:
    command: list[str]
    ok: bool
    output: str


def systemd_available() -> bool:
    if shutil.which("systemctl") is None:
        return False
    probe = subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True, text=True, timeout=20)
    return probe.returncode == 0


def run_step(*command: str) -> Step:
    try:
        out = subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Step(list(command), False, str(exc))
    return Step(list(command), out.returncode == 0, (out.stdout + out.stderr).strip())
