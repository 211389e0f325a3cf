"""realm.yaml: the model, loading with environment overrides, checks, locks."""

from backend.config.load import check_config, load_config
from backend.config.model import LOCKED_KEYS, RealmConfig
from backend.config.problems import ConfigProblem
from backend.config.template import render_config

__all__ = ["LOCKED_KEYS", "ConfigProblem", "RealmConfig", "check_config", "load_config", "render_config"]
