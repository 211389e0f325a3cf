"""Change one key of realm.yaml, keeping the player's comments where possible."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from backend.config.hosts_form import is_per_machine
from backend.config.load import apply_override, read_yaml
from backend.config.model import RealmConfig
from backend.config.problems import ConfigProblem, problems_from_validation
from backend.config.template import render_config, scalar
from pydantic import ValidationError


def find_scalar(node: Any, parts: list[str]) -> Any:
    """The YAML scalar node at `parts`, or None."""
    for part in parts:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if k.value == part), None)
        if node is None:
            return None
    return node if isinstance(node, yaml.ScalarNode) else None


def replace_scalar(text: str, dotted_key: str, value: Any) -> str | None:
    """Replace the scalar's text in place (comments untouched); None if not possible."""
    if isinstance(value, (dict, list)):
        return None
    node = find_scalar(yaml.compose(text), dotted_key.split("."))
    if node is None:
        return None
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + scalar(value) + text[end:]


def proposed_config(path: Path, dotted_key: str, raw_value: str) -> tuple[RealmConfig | None, list[ConfigProblem], Any]:
    """Validate the file with one key changed; (config, problems, parsed value)."""
    data, where, problems = read_yaml(path)
    if problems:
        return None, problems, None
    if dotted_key.startswith("hosts.") and is_per_machine(data.get("hosts")):
        return None, [ConfigProblem(dotted_key, "this realm.yaml writes hosts per machine (each with its roles): "
                                    "`realm config set` and the Settings screen leave that section to you",
                                    f"edit the hosts section in {path} itself (`realm config check` checks it)")], None
    apply_override(data, dotted_key, raw_value)
    value: Any = data
    for part in dotted_key.split("."):
        value = value[part]
    try:
        return RealmConfig.model_validate(data), [], value
    except ValidationError as exc:
        return None, problems_from_validation(exc, where), value


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def set_value(path: Path, dotted_key: str, raw_value: str) -> tuple[RealmConfig | None, list[ConfigProblem]]:
    """Validate and write; on problems the file is left untouched."""
    config, problems, value = proposed_config(path, dotted_key, raw_value)
    if config is None:
        return None, problems
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    new_text = replace_scalar(text, dotted_key, value) if text else None
    if new_text is None:
        if text:
            write_atomic(path.with_name(path.name + ".bak"), text)
        new_text = render_config(config)
    write_atomic(path, new_text)
    return config, []
