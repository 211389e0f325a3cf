"""backend/vram.py against figures computed by hand for Qwen3-0.6B."""

import pytest

from backend.vram import GPU_PRESETS, GIB, QWEN3_SHAPES, ModelShape, estimate

QWEN3_06B = QWEN3_SHAPES["Qwen3-0.6B"]
P = 596_049_920  # 28 x 15,730,944 + 151,936 x 1,024 + 1,024


def test_qwen3_06b_parameter_count() -> None:
    # per layer: q 1024x2048 + k,v 2x1024x1024 + o 2048x1024 + q/k norms 2x128
    #            + MLP 3x1024x3072 + 2 RMSNorms 2x1024 = 15,730,944
    assert QWEN3_06B.parameters() == P
    assert QWEN3_SHAPES["Qwen3-1.7B"].parameters() == 1_720_574_976


def test_bf16_adamw_no_checkpointing() -> None:
    e = estimate(QWEN3_06B, precision="bf16", tokens_per_micro_batch=4096, sequence_length=2048,
                 gradient_checkpointing=False, optimizer="adamw")
    assert e.weights == 2 * P == 1_192_099_840
    assert e.gradients == 2 * P
    assert e.optimizer == 4 * P == 2_384_199_680
    # 4h + 3q + 3kv + 4i = 4,096 + 6,144 + 3,072 + 12,288 = 25,600 elements per token and layer
    assert QWEN3_06B.activation_elements_per_token_layer() == 25_600
    assert e.activations_layers == 4096 * 28 * 25_600 * 2 == 5_872_025_600
    assert e.activations_attention == 0
    assert e.activations_head == 4096 * 2 * 1024 * 2 == 16_777_216
    # the engine's loss runs over chunks of 2**28 // 151,936 = 1,766 positions at a time
    assert e.activations_logits == 1766 * 151_936 * (2 + 4 + 4) == 2_683_189_760
    assert e.activations == 5_872_025_600 + 16_777_216 + 2_683_189_760 == 8_571_992_576
    assert e.total == 4 * 1_192_099_840 + 8_571_992_576 == 13_340_391_936
    rtx4090, rtx3090, h100 = GPU_PRESETS
    assert e.fits(rtx4090) and e.fits(rtx3090) and e.fits(h100)
    assert e.headroom(rtx4090) == 24 * GIB - GIB - 13_340_391_936


def test_fp32_and_mixed_precision() -> None:
    fp32 = estimate(QWEN3_06B, precision="fp32", tokens_per_micro_batch=1024, optimizer="adamw")
    assert (fp32.weights, fp32.gradients, fp32.optimizer) == (4 * P, 4 * P, 8 * P)
    assert fp32.activations_layers == 1024 * 28 * 25_600 * 4
    assert fp32.activations_logits == 1024 * 151_936 * 8  # one chunk; no separate upcast in fp32
    mixed = estimate(QWEN3_06B, precision="bf16-mixed", tokens_per_micro_batch=1024, optimizer="adamw")
    assert (mixed.weights, mixed.gradients, mixed.optimizer) == (6 * P, 4 * P, 8 * P)
    # the 4h = 4,096 residual and norm elements stay fp32 (4 bytes), the other 21,504 are bf16
    assert mixed.activations_layers == 1024 * 28 * (4_096 * 4 + 21_504 * 2)
    assert mixed.activations_head == 1024 * 2 * 1024 * 4


def test_gradient_checkpointing_and_optimizers() -> None:
    e = estimate(QWEN3_06B, precision="bf16", tokens_per_micro_batch=16384, gradient_checkpointing=True,
                 optimizer="adamw_8bit")
    # layer inputs 16,384 x 28 x 1,024 x 2 + one rebuilt layer 16,384 x 25,600 x 2
    assert e.activations_layers == 939_524_096 + 838_860_800
    assert e.optimizer == 2 * P
    sgd = estimate(QWEN3_06B, precision="bf16", optimizer="sgd_momentum")
    assert sgd.optimizer == 2 * P
    # unchunked, 16,384 tokens of logits would be 16,384 x 151,936 x 10 bytes = 23.2 GiB; one chunk is 2.5 GiB
    assert e.activations_logits == 1766 * 151_936 * 10 == 2_683_189_760
    assert e.fits(GPU_PRESETS[0]) and e.fits(GPU_PRESETS[2])
    huge = estimate(QWEN3_SHAPES["Qwen3-8B"], precision="bf16-mixed", tokens_per_micro_batch=16384)
    assert not huge.fits(GPU_PRESETS[0]) and not huge.fits(GPU_PRESETS[2])


def test_eager_attention_keeps_scores() -> None:
    e = estimate(QWEN3_06B, precision="bf16", tokens_per_micro_batch=4096, sequence_length=1024, attention="eager")
    # 4 sequences x 28 layers x 16 heads x 1024^2 x (scores + probs) x 2 bytes
    assert e.activations_attention == 4 * 28 * 16 * 1024 * 1024 * 2 * 2
    ckpt = estimate(QWEN3_06B, precision="bf16", tokens_per_micro_batch=4096, sequence_length=1024,
                    attention="eager", gradient_checkpointing=True)
    assert ckpt.activations_attention == 4 * 1 * 16 * 1024 * 1024 * 2 * 2


def test_parameter_override_and_errors() -> None:
    e = estimate(QWEN3_06B, parameters=1_000_000, precision="fp32")
    assert e.weights == 4_000_000
    with pytest.raises(ValueError, match="precision"):
        estimate(QWEN3_06B, precision="fp8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="optimizer"):
        estimate(QWEN3_06B, optimizer="lion")  # type: ignore[arg-type]
    nano = ModelShape(128, 4, 4, 2, 32, 384, 512)
    assert nano.parameters() == 4 * (128 * 128 + 2 * 128 * 64 + 128 * 128 + 64 + 3 * 128 * 384 + 256) + 512 * 128 + 128


def test_lora_trains_adapters_only_and_fits_qwen3_8b_on_a_24_gb_card() -> None:
    from backend.vram import lora_parameters

    q8 = QWEN3_SHAPES["Qwen3-8B"]
    # per layer r x [(h+q) + 2(h+kv) + (q+h) + 2(h+i) + (i+h)] with h 4096, q 4096, kv 1024, i 12288
    per_layer = (4096 + 4096) + 2 * (4096 + 1024) + (4096 + 4096) + 2 * (4096 + 12288) + (12288 + 4096)
    assert lora_parameters(q8, 16) == 36 * 16 * per_layer == 43_646_976
    settings = dict(precision="bf16-mixed", tokens_per_micro_batch=2048, sequence_length=2048,
                    gradient_checkpointing=True)
    full = estimate(q8, **settings)
    lora = estimate(q8, method="lora", lora_rank=16, **settings)
    qlora = estimate(q8, method="qlora", lora_rank=16, **settings)
    p8 = q8.parameters()
    assert lora.weights == p8 * 2 + 43_646_976 * 4  # the frozen base in bf16, the adapters in fp32
    assert (lora.gradients, lora.optimizer) == (43_646_976 * 4, 43_646_976 * 8)
    assert lora.activations == full.activations
    assert qlora.weights == int(p8 * 0.5625) + 43_646_976 * 4
    rtx4090 = GPU_PRESETS[0]
    assert not full.fits(rtx4090) and lora.fits(rtx4090) and qlora.fits(rtx4090)
    with pytest.raises(ValueError, match="method"):
        estimate(q8, method="dora")  # type: ignore[arg-type]
