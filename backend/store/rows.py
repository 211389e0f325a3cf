"""Small helpers shared by the repositories."""

from __future__ import annotations

import json
import time
from typing import Any


def now() -> float:
    return time.time()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


class Repository:
    """A group of queries over one table, sharing the store's connection."""

    def __init__(self, store: Any) -> None:
        self.store = store
