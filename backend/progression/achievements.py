"""Data-driven achievements (achievements.yaml): each fires exactly once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from contracts import yaml_io
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from backend.errors import UserFacingError

ACHIEVEMENTS_FILE = Path(__file__).with_name("achievements.yaml")


class Achievement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    icon: str
    description: str
    stat: str
    at_least: float

    def reached(self, stats: Any) -> bool:
        value = stat_value(stats, self.stat)
        return value is not None and value >= self.at_least


def stat_value(stats: Any, path: str) -> float | None:
    head, _, rest = path.partition(".")
    value = getattr(stats, head, None)
    if rest:
        value = value.get(rest) if isinstance(value, dict) else None
    return value if isinstance(value, (int, float)) else None


@lru_cache(maxsize=4)
def load_achievements(path: Path = ACHIEVEMENTS_FILE) -> tuple[Achievement, ...]:
    try:
        raw = yaml_io.safe_load(path.read_text(encoding="utf-8")) or []
        items = TypeAdapter(list[Achievement]).validate_python(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise UserFacingError(f"invalid achievements file: {exc}", where=str(path), fix="fix the entry named above") from exc
    ids = [a.id for a in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise UserFacingError(f"duplicate achievement ids {dupes}", where=str(path), fix="give each achievement its own id")
    return tuple(items)
