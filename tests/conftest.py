"""Fixtures shared by every test package.

The suite is the CPU suite: it hides every GPU before torch is imported, here and in every
engine, daemon and node process it starts (they inherit the environment), so `auto` resolves
to the CPU and bitwise-equal resume holds on a CUDA host too. The GPU checks are
`benchmarks/gpu_check.sh`, with their own tolerances.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before anything imports torch

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's REALM_* settings or touches saves/."""
    for name in list(os.environ):
        if name.startswith("REALM_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REALM_SAVE", str(tmp_path / "default-save"))


@pytest.fixture
def python() -> str:
    return sys.executable


@pytest.fixture
async def new_save(tmp_path: Path):
    """An initialised save slot (folders, realm.yaml, database)."""
    from backend.savegame import init_save
    from backend.slot import SaveSlot

    slot = SaveSlot(tmp_path / "save")
    await init_save(slot)
    return slot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a `slow` test run first (stable, so every xdist worker sees the same order):
    with whole files per worker (`--dist loadfile --no-loadscope-reorder`), the long ones then
    start at once and the many quick files fill the end evenly, instead of one long file
    starting last on one worker while the other sits idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
