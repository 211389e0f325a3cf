"""Settings' read model: every leaf key of realm.yaml with its value, description,
where the value comes from, and whether it is locked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from backend.config.load import ENV_PREFIX, check_config, env_overrides
from backend.config.locks import is_locked_key
from backend.config.model import RealmConfig
from backend.config.template import scalar


@dataclass(frozen=True)
class SettingRow:
    key: str
    value: str
    description: str
    locked: bool  # locked keys of a save that has trained
    env: str | None  # the environment variable overriding it, if any


def leaves(model: BaseModel, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, value, description) for every leaf; nested models and dicts of models recurse."""
    out: list[tuple[str, Any, str]] = []
    for name, field in type(model).model_fields.items():
        key = f"{prefix}{name}"
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += leaves(value, key + ".")
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for sub_key, sub in value.items():
                out += leaves(sub, f"{key}.{sub_key}.")
        else:
            out.append((key, value, field.description or ""))
    return out


def show_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return scalar(value)


def setting_rows(config: RealmConfig, lock: dict[str, Any] | None, environ: dict[str, str]) -> tuple[SettingRow, ...]:
    overrides = env_overrides(environ)
    rows = []
    for key, value, desc in leaves(config):
        env = f"{ENV_PREFIX}{key.upper().replace('.', '__')}" if key in overrides else None
        rows.append(SettingRow(key, show_value(value), desc, bool(lock) and is_locked_key(key), env))
    return tuple(rows)


def read_config(path: Path, environ: dict[str, str]) -> tuple[RealmConfig | None, list[str]]:
    config, problems = check_config(path, environ)
    return config, [p.render() for p in problems]
