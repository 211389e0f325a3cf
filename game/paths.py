"""Path completion for inputs that take a file or a folder (Textual suggester)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the folder that completes what was typed; folders get
    a trailing slash so the next part can be completed straight away. Accept with →."""

    def __init__(self, directories_only: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.directories_only = directories_only

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value, self.directories_only)


def complete_path(value: str, directories_only: bool = False) -> str | None:
    if not value:
        return None
    expanded = os.path.expanduser(value)
    folder, prefix = os.path.split(expanded)
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
    except OSError:
        return None
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if directories_only and not is_dir:
            continue
        if entry.name == prefix and not is_dir:
            continue
        rest = entry.name[len(prefix):] + ("/" if is_dir else "")
        if not rest:
            continue
        return value + rest
    return None


def check_file(value: str) -> str | None:
    """Why `value` is not a readable file (None when it is)."""
    path = Path(value).expanduser()
    if not value.strip():
        return "type the path of a JSONL file"
    if not path.is_absolute():
        return "give the full path (it starts with / or ~)"
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_file():
        return f"{path} is not a file"
    return None


def check_folder(value: str) -> str | None:
    path = Path(value).expanduser()
    if not value.strip():
        return "type a folder"
    if not path.is_absolute():
        return "give the full path (it starts with / or ~)"
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    return None
