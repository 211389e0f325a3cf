"""Fixtures of the validation tests: a tiny byte-level BPE tokenizer built on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest

from validation.corpus import build_tiny_tokenizer


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tokenizer.json of a 400-token byte-level BPE with the ChatML special tokens."""
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer.json")
