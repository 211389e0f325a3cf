from __future__ import annotations

from pathlib import Path

import pytest

from contracts.nano import NanoSpec


@pytest.fixture(scope="session")
def nano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Default nano DIO, created once per session."""
    from engine.nano_model import create_nano

    return create_nano(tmp_path_factory.mktemp("nano") / "base", seed=0)


@pytest.fixture(scope="session")
def small_nano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An even smaller nano DIO for tests that only exercise mechanics."""
    from engine.nano_model import create_nano

    spec = NanoSpec(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=128)
    return create_nano(tmp_path_factory.mktemp("nano_small") / "base", seed=0, spec=spec)


@pytest.fixture(scope="session")
def qwen_tokenizer():
    from transformers import AutoTokenizer

    from qwen_files import qwen_tokenizer_dir

    return AutoTokenizer.from_pretrained(str(qwen_tokenizer_dir()))


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """In-process tests use one thread: tiny models gain nothing from two, and one thread keeps
    timings sane when other processes share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
