"""Watching the inbox: a file is taken only once it has stopped changing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".moving", "~")
SIDECAR_SUFFIX = ".meta.json"
LINGER_S = 60.0  # a file that is not taken and has not changed for this long is reported (once)


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


def skipped_reason(inbox: Path, name: str) -> str | None:
    """Why an inbox entry is not taken (None: it is, or it travels with one that is)."""
    if name.endswith(SIDECAR_SUFFIX):
        quest = name[: -len(SIDECAR_SUFFIX)]
        if os.path.lexists(inbox / quest):
            return None
        return f"a sidecar without its quest file {quest}: add that file beside it, or remove the sidecar"
    if name.startswith("."):
        return "its name starts with a dot (a hidden file): rename it without the dot to make it a quest"
    if name.endswith(IGNORED_SUFFIXES):
        return ("its name ends like an unfinished download or an editor's temporary file: rename it to .jsonl "
                "when it is complete")
    return None


def skipped_entries(inbox: Path) -> list[tuple[str, str]]:
    """(name, reason) of every inbox entry that is not taken, by name."""
    try:
        names = sorted(e.name for e in os.scandir(inbox))
    except OSError:
        return []
    return [(n, r) for n in names if (r := skipped_reason(inbox, n)) is not None]


class InboxWatcher:
    """Poll the inbox; report entries unchanged (with their sidecar) for settle_s."""

    def __init__(self, inbox: Path, settle_s: float = 1.0) -> None:
        self.inbox = inbox
        self.settle_s = settle_s
        self.seen: dict[str, Observation] = {}
        self.reported: dict[str, tuple[int, int, int]] = {}  # not-taken entries already reported (by signature)

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
            self.reported.pop(gone, None)
        return ready

    def lingering(self, now: float | None = None) -> list[tuple[Path, str]]:
        """Entries that are not taken, unchanged for LINGER_S and not reported yet in this form."""
        now = time.time() if now is None else now
        out = []
        for name, obs in self.seen.items():
            if now - obs.changed_at < LINGER_S or self.reported.get(name) == obs.signature:
                continue
            reason = skipped_reason(self.inbox, name)
            if reason is not None:
                self.reported[name] = obs.signature
                out.append((self.inbox / name, reason))
        return out

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
