"""Write realm.yaml with every key at its default and its description as a comment."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from backend.config.model import RealmConfig

HEADER = """\
# realm.yaml - the settings of this save slot (Realm of Training).
# Every key is shown at its default. Check your edits with `realm config check`.
# Any key can be overridden from the environment: REALM_<SECTION>__<KEY>,
# e.g. REALM_TRAINING__LEARNING_RATE=1e-4.
# Locked once the save has trained (changing them needs `realm config set ... --force`):
#   hero.base_model, hero.nano, training.max_length
"""


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("\n...").strip()


def render_model(model: BaseModel, indent: int = 0) -> list[str]:
    lines: list[str] = []
    pad = "  " * indent
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if field.description:
            lines.append(f"{pad}# {field.description}")
        lines += render_value(name, value, indent)
    return lines


def render_value(name: str, value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, BaseModel):
        return [f"{pad}{name}:", *render_model(value, indent + 1)]
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        lines = [f"{pad}{name}:"]
        for key, sub in value.items():
            lines += [f"{pad}  {key}:", *render_model(sub, indent + 2)]
        return lines
    return [f"{pad}{name}: {scalar(value)}"]


def render_config(config: RealmConfig | None = None) -> str:
    config = config or RealmConfig()
    body: list[str] = []
    for name, field in RealmConfig.model_fields.items():
        body.append("")
        body.append(f"# --- {field.description} ---")
        body += render_value(name, getattr(config, name), 0)
    return HEADER + "\n".join(body) + "\n"
