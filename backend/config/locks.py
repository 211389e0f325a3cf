"""Values locked once a save has trained: the weights depend on them."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from backend.config.model import LOCKED_KEYS, RealmConfig
from backend.config.problems import ConfigProblem

LOCK_META_KEY = "config_lock"


def value_at(config: BaseModel, dotted_key: str) -> Any:
    value: Any = config
    for part in dotted_key.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value.model_dump() if isinstance(value, BaseModel) else value


def locked_values(config: RealmConfig) -> dict[str, Any]:
    return {key: value_at(config, key) for key in LOCKED_KEYS}


def is_locked_key(dotted_key: str) -> bool:
    return any(dotted_key == k or dotted_key.startswith(k + ".") for k in LOCKED_KEYS)


def lock_violations(config: RealmConfig, lock: dict[str, Any] | None) -> list[ConfigProblem]:
    """Problems for each locked key whose value differs from the one the save trained with."""
    if not lock:
        return []
    problems = []
    for key, was in lock.get("values", {}).items():
        now = value_at(config, key)
        if json.dumps(now, sort_keys=True) != json.dumps(was, sort_keys=True):
            problems.append(ConfigProblem(
                key,
                f"locked since step {lock.get('step', 0)}: the save trained with {was!r}, the file says {now!r}",
                f"put back {was!r}, or change it on purpose with `realm config set {key} VALUE --force` (recorded in the event log)",
            ))
    return problems
