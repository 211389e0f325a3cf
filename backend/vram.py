"""The VRAM calculator: how much GPU memory one training micro-batch needs.

A pure function of the model's shape and the training settings; the TUI's
Settings screen shows it against a few GPUs. Figures are estimates of the
tensors alive at the peak of the backward pass; the allocator's fragmentation
and the CUDA context are covered by a fixed reserve (RESERVE_BYTES).

Memory per part (P parameters, T tokens per micro-batch, b bytes per element
of the compute dtype):

- weights: P x (4 fp32 | 2 bf16 | 4 + 2 bf16-mixed: fp32 master plus a bf16 copy)
- gradients: P x (4 fp32 | 2 bf16 | 4 bf16-mixed)
- optimizer state: AdamW keeps two moments in the parameters' dtype
  (P x 2 x 4 fp32 or mixed, P x 2 x 2 pure bf16); 8-bit AdamW P x 2 x 1;
  SGD with momentum one moment in the parameters' dtype.
- activations, per decoder layer and token, the tensors kept for backward
  (h hidden, q = heads x head_dim, kv = kv_heads x head_dim, i intermediate):
  attention block 2h (residual, norm) + 3q (q, q after norm and RoPE, attention
  output) + 3kv (k, k after norm and RoPE, v); MLP block 2h (residual, norm)
  + 4i (gate, up, silu(gate), gate x up). That is 4h + 3q + 3kv + 4i elements. The 4h
  residual and norm elements stay fp32 under bf16-mixed (fp32 master weights: the residual
  stream is fp32, and autocast runs the norms in fp32), so they take 4 bytes there.
  Flash/SDPA attention keeps no T x T matrix; eager attention keeps scores and
  probabilities: heads x s^2 x 2 elements per sequence of length s.
  With gradient checkpointing only each layer's input (h per token) is kept and
  one layer's activations are rebuilt at a time during backward.
  The head keeps 2h per token (final norm) and the logits of one loss chunk (the engine runs
  the LM head and the loss over at most `loss_chunk_rows(V)` positions at a time, each chunk
  under checkpointing): R x V x b for the lm_head output, R x V x 4 for the fp32
  log-probabilities the loss keeps, and R x V x 4 more for the fp32 upcast when the compute
  dtype is not fp32, with R = min(T, chunk rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from contracts.lora_targets import LORA_TARGETS
from contracts.loss_chunks import loss_chunk_rows

Precision = Literal["fp32", "bf16", "bf16-mixed"]
Optimizer = Literal["adamw", "adamw_8bit", "sgd_momentum"]
Method = Literal["full", "lora", "qlora"]
Attention = Literal["flash", "eager"]

GIB = 1024**3
RESERVE_BYTES = 1 * GIB  # CUDA context, allocator slack

PRECISIONS: tuple[Precision, ...] = ("bf16", "bf16-mixed", "fp32")
OPTIMIZERS: tuple[Optimizer, ...] = ("adamw", "adamw_8bit", "sgd_momentum")
ATTENTIONS: tuple[Attention, ...] = ("flash", "eager")
METHODS: tuple[Method, ...] = ("full", "lora", "qlora")
QLORA_BYTES_PER_PARAM = 0.5625  # NF4: 4 bits, plus one fp8 scale per 64 weights and its double quantisation


@dataclass(frozen=True)
class ModelShape:
    """The shape of a Qwen3-style decoder."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool = True

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def parameters(self) -> int:
        """Exact parameter count (Qwen3: no biases, q/k RMSNorm per head, tied or untied lm_head)."""
        h, i = self.hidden, self.intermediate
        attention = h * self.q_dim + 2 * h * self.kv_dim + self.q_dim * h + 2 * self.head_dim
        mlp = 3 * h * i
        layer = attention + mlp + 2 * h
        embeddings = self.vocab * h * (1 if self.tied_embeddings else 2)
        return self.layers * layer + embeddings + h

    def activation_elements_per_token_layer(self) -> int:
        return 4 * self.hidden + 3 * self.q_dim + 3 * self.kv_dim + 4 * self.intermediate


# Shapes from the published Qwen3 configs.
QWEN3_SHAPES: dict[str, ModelShape] = {
    "Qwen3-0.6B": ModelShape(1024, 28, 16, 8, 128, 3072, 151936, True),
    "Qwen3-1.7B": ModelShape(2048, 28, 16, 8, 128, 6144, 151936, True),
    "Qwen3-4B": ModelShape(2560, 36, 32, 8, 128, 9728, 151936, True),
    "Qwen3-8B": ModelShape(4096, 36, 32, 8, 128, 12288, 151936, False),
}


@dataclass(frozen=True)
class GpuPreset:
    name: str
    memory_bytes: int


GPU_PRESETS: tuple[GpuPreset, ...] = (
    GpuPreset("RTX 4090 24 GB", 24 * GIB),
    GpuPreset("RTX 3090 24 GB", 24 * GIB),
    GpuPreset("H100 80 GB", 80 * GIB),
)


@dataclass(frozen=True)
class VramEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations_layers: int
    activations_attention: int
    activations_head: int
    activations_logits: int

    @property
    def activations(self) -> int:
        return self.activations_layers + self.activations_attention + self.activations_head + self.activations_logits

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def fits(self, gpu: GpuPreset, reserve: int = RESERVE_BYTES) -> bool:
        return self.total + reserve <= gpu.memory_bytes

    def headroom(self, gpu: GpuPreset, reserve: int = RESERVE_BYTES) -> int:
        """Bytes left on the GPU (negative: short by that much)."""
        return gpu.memory_bytes - reserve - self.total


WEIGHT_BYTES = {"fp32": 4, "bf16": 2, "bf16-mixed": 6}
GRAD_BYTES = {"fp32": 4, "bf16": 2, "bf16-mixed": 4}
PARAM_DTYPE_BYTES = {"fp32": 4, "bf16": 2, "bf16-mixed": 4}  # dtype the optimizer state follows
COMPUTE_BYTES = {"fp32": 4, "bf16": 2, "bf16-mixed": 2}
RESIDUAL_BYTES = {"fp32": 4, "bf16": 2, "bf16-mixed": 4}  # the residual stream and norm outputs


def lora_parameters(shape: ModelShape, rank: int, targets: tuple[str, ...] = LORA_TARGETS) -> int:
    """Trainable parameters of rank-`rank` adapters on `targets`: r x (in + out) per adapted Linear."""
    h, q, kv, i = shape.hidden, shape.q_dim, shape.kv_dim, shape.intermediate
    dims = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}
    return shape.layers * rank * sum(a + b for name, (a, b) in dims.items() if name in targets)


def optimizer_bytes_per_param(optimizer: Optimizer, precision: Precision) -> int:
    if optimizer == "adamw":
        return 2 * PARAM_DTYPE_BYTES[precision]
    if optimizer == "adamw_8bit":
        return 2
    if optimizer == "sgd_momentum":
        return PARAM_DTYPE_BYTES[precision]
    raise ValueError(f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}")


def estimate(
    shape: ModelShape,
    *,
    precision: Precision = "bf16",
    tokens_per_micro_batch: int = 4096,
    sequence_length: int = 2048,
    gradient_checkpointing: bool = False,
    optimizer: Optimizer = "adamw",
    attention: Attention = "flash",
    parameters: int | None = None,
    method: Method = "full",
    lora_rank: int = 16,
) -> VramEstimate:
    """Peak training memory of one micro-batch. `parameters` overrides the count the
    shape gives (weights, gradients and optimizer state follow it; activations follow
    the shape). `method` lora: the frozen base in the compute dtype plus fp32 adapters of
    `lora_rank` on every projection, gradients and optimizer state for the adapters only;
    qlora: the same over a 4-bit (NF4) base."""
    if precision not in WEIGHT_BYTES:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if attention not in ATTENTIONS:
        raise ValueError(f"unknown attention {attention!r}; use one of {', '.join(ATTENTIONS)}")
    if tokens_per_micro_batch < 1 or sequence_length < 1:
        raise ValueError("tokens per micro-batch and sequence length must be at least 1")
    p = shape.parameters() if parameters is None else int(parameters)
    if p < 0:
        raise ValueError("parameters must not be negative")
    b = COMPUTE_BYTES[precision]
    r = RESIDUAL_BYTES[precision]
    t = tokens_per_micro_batch
    # bytes per token of one layer's kept tensors: 4h residual/norm elements at r, the rest at b
    per_layer_token = 4 * shape.hidden * r + (shape.activation_elements_per_token_layer() - 4 * shape.hidden) * b
    if gradient_checkpointing:
        layers = t * shape.layers * shape.hidden * r + t * per_layer_token
        kept_layers = 1
    else:
        layers = t * shape.layers * per_layer_token
        kept_layers = shape.layers
    attention_bytes = 0
    if attention == "eager":
        s = min(sequence_length, t)
        sequences = math.ceil(t / s)
        attention_bytes = sequences * kept_layers * shape.heads * s * s * 2 * b
    head = t * 2 * shape.hidden * r
    logits = min(t, loss_chunk_rows(shape.vocab)) * shape.vocab * (b + 4 + (4 if b != 4 else 0))
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if method != "full":
        adapters = lora_parameters(shape, lora_rank)
        base_bytes = QLORA_BYTES_PER_PARAM if method == "qlora" else b
        return VramEstimate(
            weights=int(p * base_bytes) + adapters * 4, gradients=adapters * 4,
            optimizer=adapters * optimizer_bytes_per_param(optimizer, "fp32"),
            activations_layers=layers, activations_attention=attention_bytes, activations_head=head,
            activations_logits=logits,
        )
    return VramEstimate(
        weights=p * WEIGHT_BYTES[precision],
        gradients=p * GRAD_BYTES[precision],
        optimizer=p * optimizer_bytes_per_param(optimizer, precision),
        activations_layers=layers,
        activations_attention=attention_bytes,
        activations_head=head,
        activations_logits=logits,
    )
