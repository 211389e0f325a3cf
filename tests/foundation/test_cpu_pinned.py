"""The CPU suite sees no GPU, in its own process and in the processes it starts."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_suite_and_its_subprocesses_see_no_gpu() -> None:
    import torch

    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert not torch.cuda.is_available()
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
