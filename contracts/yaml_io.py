"""YAML through libyaml's C parser when PyYAML was built with it (about 10x faster than the
pure-Python one: `realm status` parses realm.yaml on every call), the pure-Python one
otherwise. Safe loading only."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)


def compose(text: str) -> Any:
    """The node tree (keys with their line marks)."""
    return yaml.compose(text, Loader=SafeLoader)
