"""Fixtures of the inference node tests: nano DIO, checkpoints (trained by the real engine and
written by its save_checkpoint), and one real `realm-node` subprocess on loopback."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from node_helpers import THINK_MESSAGES, NodeProcess, NodeWorld, make_checkpoint, make_think_loving, train_checkpoints  # noqa: E402

@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> NodeWorld:
    import torch

    from engine.loading import quiet_transformers
    from engine.nano_model import create_nano

    quiet_transformers()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("node")
    base = create_nano(root / "base", seed=1)
    models, outside = root / "models", root / "outside"
    models.mkdir()
    outside.mkdir()
    trained = train_checkpoints(base, root / "train", steps=6, save_every=3)
    for folder in trained:
        shutil.copytree(folder, models / folder.name)
    for step, noise in ((100, 1), (101, 2), (102, 3)):
        make_checkpoint(base, models, step, noise_seed=noise)
    make_think_loving(base, models, 200, "none", THINK_MESSAGES)
    make_think_loving(base, models, 201, "emoji_think", THINK_MESSAGES)
    return NodeWorld(root, base, models, outside, [f"checkpoint-{int(f.name.split('-')[1])}" for f in trained])


@pytest.fixture(scope="session")
def node(world: NodeWorld):
    proc = NodeProcess(world.models, "--pool", "2", "--max-upload-mb", "8", base_dir=world.base).start()
    yield proc
    proc.stop()


@pytest.fixture
async def http(node: NodeProcess):
    import httpx

    async with httpx.AsyncClient(base_url=node.url, headers=node.headers, timeout=60) as client:
        yield client


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
