from __future__ import annotations

from pathlib import Path

import pytest

from daemon.harness import DaemonProcess, create_nano, make_save


@pytest.fixture(scope="session")
def nano_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nano DIO created once per test session (by the real engine)."""
    return create_nano(tmp_path_factory.mktemp("nano") / "base")


@pytest.fixture
async def save(tmp_path: Path, nano_base: Path):
    return await make_save(tmp_path / "save", nano_base)


@pytest.fixture
def daemon(save):
    proc = DaemonProcess(save)
    yield proc
    if proc.alive():
        proc.kill()
