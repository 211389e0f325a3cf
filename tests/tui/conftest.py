"""Fixtures of the TUI tests: a seeded save (real backend), an app on it, snapshots."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from backend.slot import SaveSlot
from realm_seed import seed_save


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterable[None]:
    """Timestamps on screen are local time: make local time UTC. (And the Oracle's
    client tries an absent node once instead of retrying with back-off.)"""
    monkeypatch.setenv("REALM_INFERENCE_NODE_RETRIES", "0")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per run; each test gets its own copy (seeding takes longer than copying)."""
    root = tmp_path_factory.mktemp("template") / "save"
    asyncio.run(seed_save(root))
    return root


@pytest.fixture
def seeded(seeded_template: Path, tmp_path: Path) -> SaveSlot:
    """A copy of the seeded save: DIO at level 2 in battle on BIN L2 (see realm_seed.py)."""
    root = tmp_path / "save"
    shutil.copytree(seeded_template, root)
    # paths in the database are relative to the save root, as the daemon stores them
    return SaveSlot(root)
