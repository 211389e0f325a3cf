"""Precision and attention follow what the device can do, for GPUs this machine does not have
(the capability is given by hand; the rules are the same code the engine runs)."""

from __future__ import annotations

import pytest
import torch

from engine.errors import EngineError
from engine.loading import DeviceCaps, resolve_attention, resolve_precision

H100 = DeviceCaps("cuda", (9, 0), "NVIDIA H100 80GB HBM3")
A100 = DeviceCaps("cuda", (8, 0), "NVIDIA A100-SXM4-40GB")
T4 = DeviceCaps("cuda", (7, 5), "Tesla T4")
V100 = DeviceCaps("cuda", (7, 0), "Tesla V100")
CPU = DeviceCaps("cpu")


def test_the_real_device_here_is_described() -> None:
    caps = DeviceCaps.of(torch.device("cpu"))
    assert caps == CPU and not caps.bf16 and not caps.flash_capable


@pytest.mark.parametrize(("caps", "expected"), [(H100, "bf16"), (A100, "bf16"), (T4, "fp32"), (V100, "fp32"),
                                                (CPU, "fp32")])
def test_auto_precision_is_bf16_only_where_it_is_native(caps: DeviceCaps, expected: str) -> None:
    assert resolve_precision("auto", caps) == expected


def test_bf16_on_a_gpu_that_only_emulates_it_is_refused() -> None:
    with pytest.raises(EngineError) as err:
        resolve_precision("bf16", T4)
    assert err.value.code == "bad_job" and "8.0" in str(err.value) and err.value.where == "precision"
    assert resolve_precision("bf16", CPU) == "bf16"  # the CPU runs bf16 (slowly), as asked
    assert resolve_precision("fp32", H100) == "fp32"


@pytest.mark.parametrize(("caps", "precision", "importable", "expected"), [
    (H100, "bf16", True, "flash_attention_2"),
    (A100, "bf16", True, "flash_attention_2"),
    (H100, "fp32", True, "sdpa"),  # flash-attn raises on fp32 at the first step
    (H100, "bf16", False, "sdpa"),
    (T4, "fp32", True, "sdpa"),
    (CPU, "fp32", True, "sdpa"),
])
def test_auto_attention(caps: DeviceCaps, precision: str, importable: bool, expected: str) -> None:
    assert resolve_attention("auto", caps, precision, importable) == expected


@pytest.mark.parametrize(("caps", "precision", "importable", "words"), [
    (H100, "fp32", True, "bf16 or fp16"),
    (T4, "fp32", True, "compute capability 8.0"),
    (H100, "bf16", False, "flash-attn package"),
    (CPU, "fp32", True, "CUDA device"),
])
def test_an_explicit_flash_that_cannot_run_is_a_bad_job(caps, precision, importable, words: str) -> None:
    with pytest.raises(EngineError) as err:
        resolve_attention("flash_attention_2", caps, precision, importable)
    assert err.value.code == "bad_job" and words in str(err.value) and err.value.where == "attention"


def test_other_attentions_pass_through() -> None:
    assert resolve_attention("eager", H100, "bf16", True) == "eager"
    assert resolve_attention("sdpa", H100, "bf16", True) == "sdpa"
