"""A checkpoint carries the CPU generator and the training device's CUDA generator only, and
older checkpoints (every GPU's state) still resume on a box with fewer GPUs."""

from __future__ import annotations

import torch

from engine.rng import cuda_state_for, rng_state, set_rng


def test_cpu_state_round_trips_and_no_cuda_state_is_saved_on_the_cpu() -> None:
    cpu = torch.device("cpu")
    saved = rng_state(cpu)
    assert saved["rng_cuda"] is None
    first = torch.rand(4)
    set_rng(saved, cpu)
    assert torch.equal(torch.rand(4), first)


def test_the_training_devices_entry_is_taken_from_an_older_all_gpu_list() -> None:
    states = [torch.full((8,), i, dtype=torch.uint8) for i in range(4)]
    assert torch.equal(cuda_state_for(states, torch.device("cuda", 2)), states[2])
    assert torch.equal(cuda_state_for(states, torch.device("cuda")), states[0])
    assert cuda_state_for(states, torch.device("cuda", 6)) is None  # saved on 4 GPUs, resumed on the 7th: fresh
    assert torch.equal(cuda_state_for(states[1], torch.device("cuda", 0)), states[1])
    assert cuda_state_for(states, torch.device("cpu")) is None
    assert cuda_state_for(None, torch.device("cuda", 0)) is None
