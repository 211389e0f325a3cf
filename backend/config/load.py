"""Read realm.yaml, apply REALM_<SECTION>__<KEY> overrides, validate."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from contracts import yaml_io
from pydantic import ValidationError

from backend.config.model import RealmConfig
from backend.config.problems import ConfigProblem, problems_from_validation
from backend.errors import ConfigError

ENV_PREFIX = "REALM_"


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, str], list[ConfigProblem]]:
    """(raw mapping, dotted path -> 'file:line', problems). A missing file is empty."""
    if not path.exists():
        return {}, {}, []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return {}, {}, [ConfigProblem("(file)", f"not UTF-8 text: {exc}", "save the file as UTF-8", str(path))]
    try:
        node = yaml_io.compose(text)
        data = yaml_io.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        return {}, {}, [ConfigProblem("(file)", f"YAML syntax error: {problem}", "fix the YAML syntax at that line (indentation, a missing ':' or quote)", where)]
    if data is None:
        return {}, {}, []
    if not isinstance(data, dict):
        return {}, {}, [ConfigProblem("(top level)", f"expected a mapping of sections, got {type(data).__name__}", "start the file with sections such as 'hero:' and 'training:'", str(path))]
    return data, key_lines(node, path), []


def key_lines(node: Any, path: Path, prefix: str = "") -> dict[str, str]:
    """Map every dotted key in a composed YAML tree to 'file:line'."""
    out: dict[str, str] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key_node, value_node in node.value:
        key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
        out[key] = f"{path}:{key_node.start_mark.line + 1}"
        out.update(key_lines(value_node, path, key))
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """REALM_TRAINING__LEARNING_RATE=1e-4 -> {'training.learning_rate': '1e-4'}."""
    out = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and "__" in name:
            parts = name[len(ENV_PREFIX):].split("__")
            if all(parts):
                out[".".join(p.lower() for p in parts)] = value
    return out


def apply_override(data: dict[str, Any], dotted_key: str, raw: str) -> None:
    node = data
    parts = dotted_key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    try:
        node[parts[-1]] = yaml_io.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        node[parts[-1]] = raw


def check_config(path: Path, environ: Mapping[str, str] | None = None) -> tuple[RealmConfig | None, list[ConfigProblem]]:
    """Validate realm.yaml plus environment overrides; return all problems at once."""
    environ = os.environ if environ is None else environ
    data, where, problems = read_yaml(path)
    if problems:
        return None, problems
    for key, raw in env_overrides(environ).items():
        apply_override(data, key, raw)
        where[key] = f"${ENV_PREFIX}{key.upper().replace('.', '__')}"
    try:
        return RealmConfig.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from_validation(exc, where)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> RealmConfig:
    """The validated config, or ConfigError listing every problem."""
    config, problems = check_config(path, environ)
    if config is None:
        listing = "\n".join(p.render() for p in problems)
        raise ConfigError(
            f"{len(problems)} problem(s) in the config:\n{listing}",
            where=str(path),
            fix=f"edit {path} (or run `realm config check` to see them again)",
        )
    return config
