"""Which device the local node takes, and how GPUs are counted without torch."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.gpus import local_node_device, visible_gpu_count


@pytest.mark.parametrize(("setting", "trainer", "gpus", "expected"), [
    ("auto", "auto", 0, "auto"),  # no GPU: the node resolves to the CPU itself
    ("auto", "auto", 1, "auto"),  # one GPU: beside training, nothing else to choose
    ("auto", "auto", 2, "cuda:1"),  # training takes GPU 0, the node another
    ("auto", "cuda", 4, "cuda:1"),
    ("auto", "cuda:1", 2, "cuda:0"),
    ("auto", "cuda:3", 4, "cuda:0"),
    ("auto", "cpu", 2, "auto"),
    ("cuda:0", "auto", 2, "cuda:0"),  # an explicit setting wins
    ("cpu", "auto", 8, "cpu"),
])
def test_the_local_node_prefers_another_gpu_than_training(setting, trainer, gpus, expected) -> None:
    assert local_node_device(setting, trainer, gpus) == expected


def test_gpus_are_counted_from_cuda_visible_devices_first(tmp_path: Path, monkeypatch) -> None:
    import backend.gpus as gpus

    monkeypatch.setattr(gpus.importlib.util, "find_spec", lambda name: None)  # as on a box without nvidia-ml-py
    proc = tmp_path / "gpus"
    proc.mkdir()
    for bus in ("0000:01:00.0", "0000:02:00.0", "0000:03:00.0"):
        (proc / bus).mkdir()
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}, proc) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "2,0"}, proc) == 2
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "-1"}, proc) == 0
    assert visible_gpu_count({}, proc) == 3  # the driver's entries
    assert visible_gpu_count({}, tmp_path / "no-driver") == 0


def test_a_bad_node_device_is_refused_with_the_choices() -> None:
    from pydantic import ValidationError

    from backend.config.model import HostsConfig

    assert HostsConfig.model_validate({"inference": {"device": "cuda:1"}}).inference.device == "cuda:1"
    with pytest.raises(ValidationError, match="auto, cpu, cuda or cuda:N"):
        HostsConfig.model_validate({"inference": {"device": "gpu"}})
