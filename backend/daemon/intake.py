"""Watching the inbox: a file is taken only once it has stopped changing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".moving", "~")
SIDECAR_SUFFIX = ".meta.json"


@dataclass
class Observation:
    signature: tuple[int, int, int]  # (size, mtime_ns, mode)
    changed_at: float


def signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_mode


def is_candidate(name: str) -> bool:
    """Hidden files and partial downloads are someone's work in progress; sidecars
    travel with their quest file."""
    return not (name.startswith(".") or name.endswith(IGNORED_SUFFIXES) or name.endswith(SIDECAR_SUFFIX))


class InboxWatcher:
    """Poll the inbox; report entries unchanged (with their sidecar) for settle_s."""

    def __init__(self, inbox: Path, settle_s: float = 1.0) -> None:
        self.inbox = inbox
        self.settle_s = settle_s
        self.seen: dict[str, Observation] = {}

    def poll(self, now: float | None = None) -> list[Path]:
        now = time.time() if now is None else now
        ready, present = [], set()
        for entry in sorted(os.scandir(self.inbox), key=lambda e: e.name):
            present.add(entry.name)
            sig = self.combined_signature(Path(entry.path))
            if sig is None:
                continue
            obs = self.seen.get(entry.name)
            if obs is None or obs.signature != sig:
                self.seen[entry.name] = Observation(sig, now)
            elif is_candidate(entry.name) and now - obs.changed_at >= self.settle_s:
                ready.append(Path(entry.path))
        for gone in set(self.seen) - present:
            del self.seen[gone]
        return ready

    def combined_signature(self, path: Path) -> tuple[int, int, int] | None:
        sig = signature(path)
        side = signature(path.with_name(path.name + SIDECAR_SUFFIX))
        if sig is None:
            return None
        if side is None:
            return sig
        return (sig[0] + side[0], sig[1] ^ side[1], sig[2])

    def forget(self, path: Path) -> None:
        self.seen.pop(path.name, None)
