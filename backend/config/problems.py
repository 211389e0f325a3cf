"""Turn pydantic errors and YAML errors into ConfigProblems a player can act on."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.config.model import RealmConfig


@dataclass(frozen=True)
class ConfigProblem:
    path: str  # dotted key path, e.g. training.learning_rate
    what: str  # what is wrong
    fix: str  # what would be right
    where: str = ""  # file:line, or the environment variable it came from

    def render(self) -> str:
        loc = f" ({self.where})" if self.where else ""
        return f"{self.path}{loc}: {self.what}\n    fix: {self.fix}"


def dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def model_at(path: list[str]) -> type[BaseModel] | None:
    """The pydantic model class that owns the keys at `path` (None if not a model)."""
    current: Any = RealmConfig
    for key in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(key)
            if field is None:
                return None
            current = field.annotation
        else:
            current = dict_value_type(current)
            if current is None:
                return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    value_type = dict_value_type(current)
    return value_type if isinstance(value_type, type) and issubclass(value_type, BaseModel) else None


def dict_value_type(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if getattr(annotation, "__origin__", None) is dict and args:
        return args[1]
    return None


def default_at(path: list[str]) -> Any:
    """The default value of the key at `path`, or None when there is none."""
    owner = model_at(path[:-1])
    if owner is None or path[-1] not in owner.model_fields:
        return None
    field = owner.model_fields[path[-1]]
    if field.default_factory is not None:
        return None
    return field.default


def suggest_key(path: list[str]) -> str:
    owner = model_at(path[:-1])
    valid = sorted(owner.model_fields) if owner else []
    close = difflib.get_close_matches(path[-1], valid, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'? (valid keys here: {', '.join(valid)})"
    return f"remove it; valid keys here: {', '.join(valid)}" if valid else "remove it"


def fix_for(err: dict[str, Any], path: list[str]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return suggest_key(path)
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        return f"use one of: {ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        default = default_at(path)
        tail = f" (default {default!r})" if default is not None else ""
        return f"use a number {err['msg'].removeprefix('Input should be ').strip()}{tail}"
    default = default_at(path)
    if default is not None:
        return f"write a value like the default: {path[-1]}: {default!r}"
    if kind == "model_type" or kind == "dict_type":
        return "write a mapping of keys (see the commented default realm.yaml: realm init --print-defaults)"
    return "see the commented default realm.yaml (realm config defaults)"


def what_for(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    got = err.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    msg = err["msg"].removeprefix("Value error, ")
    return f"{msg} (got {shown})"


def problems_from_validation(exc: ValidationError, where: dict[str, str]) -> list[ConfigProblem]:
    """One problem per pydantic error. `where` maps dotted paths to file:line or env var."""
    out = []
    for err in exc.errors(include_url=False):
        path = [str(p) for p in err["loc"]]
        key = dotted(err["loc"]) or "(top level)"
        out.append(ConfigProblem(key, what_for(err), fix_for(err, path), locate(where, key)))
    return out


def locate(where: dict[str, str], key: str) -> str:
    """The nearest known location of `key` or of one of its parents."""
    parts = key.split(".")
    while parts:
        hit = where.get(".".join(parts))
        if hit:
            return hit
        parts.pop()
    return ""
