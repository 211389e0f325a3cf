"""The VRAM calculator: weights, gradients, optimizer state and activations of one
training micro-batch (full training, LoRA or QLoRA), against an RTX 4090, an RTX 3090 and an H100
(backend/vram.py does the arithmetic)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Select, Switch

from backend.fmt import fmt_bytes
from backend.vram import (
    ATTENTIONS,
    GPU_PRESETS,
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    QWEN3_SHAPES,
    RESERVE_BYTES,
    ModelShape,
    VramEstimate,
    estimate,
)
from game.widgets.field import Field
from game.widgets.line import Line


def nano_shape(config: Any) -> ModelShape:
    n = config.hero.nano
    return ModelShape(n.hidden_size, n.num_layers, n.num_heads, n.num_kv_heads, n.head_dim, n.intermediate_size,
                      n.vocab_size, True)


def shapes_for(config: Any) -> dict[str, ModelShape]:
    out = {"nano DIO (this save)": nano_shape(config)} if config is not None else {}
    out.update(QWEN3_SHAPES)
    return out


def default_model(config: Any) -> str:
    if config is None:
        return "Qwen3-0.6B"
    base = config.hero.base_model
    if base == "nano":
        return "nano DIO (this save)"
    for name in QWEN3_SHAPES:
        if name.lower() in base.lower():
            return name
    return "Qwen3-0.6B"


def result_text(e: VramEstimate) -> Text:
    t = Text(no_wrap=True)
    rows = [("Weights", e.weights), ("Gradients", e.gradients), ("Optimizer state", e.optimizer), ("Activations", e.activations)]
    for label, value in rows:
        t.append(f"{label:<16}{fmt_bytes(value):>11}\n")
    t.append(f"  layers {fmt_bytes(e.activations_layers)} · logits {fmt_bytes(e.activations_logits)}\n", style="dim")
    if e.activations_attention:
        t.append(f"  attention scores {fmt_bytes(e.activations_attention)}\n", style="dim")
    t.append(f"{'Total':<16}{fmt_bytes(e.total):>11}\n", style="bold")
    t.append(f"  + {fmt_bytes(RESERVE_BYTES)} reserve (CUDA context)\n\n", style="dim")
    for gpu in GPU_PRESETS:
        room = e.headroom(gpu)
        if room >= 0:
            t.append("✓ ", style="green")
            t.append(f"{gpu.name:<15} fits, {fmt_bytes(room)} spare\n")
        else:
            t.append("✗ ", style="red")
            t.append(f"{gpu.name:<15} short by {fmt_bytes(-room)}\n")
    return t


class VramScreen(Screen[None]):
    BINDINGS = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        config = getattr(self.app, "config", None)
        self.shapes = shapes_for(config)
        model = default_model(config)
        training = config.training if config is not None else None
        precision = "fp32" if model.startswith("nano") else "bf16"
        if training is not None and training.precision in ("bf16", "fp32"):
            precision = training.precision
        yield Label("VRAM calculator: one training micro-batch", classes="dialog-title")
        with Horizontal():
            with VerticalScroll(id="vram-form"):
                yield Label("Model")
                yield Select([(n, n) for n in self.shapes], value=model, allow_blank=False, id="vram-model", compact=True)
                yield Label("Parameters")
                yield Field(str(self.shapes[model].parameters()), id="vram-params", type="integer", compact=True)
                yield Label("Precision")
                yield Select([(p, p) for p in PRECISIONS], value=precision, allow_blank=False, id="vram-precision", compact=True)
                yield Label("Tokens per micro-batch")
                yield Field(str(training.tokens_per_micro_batch if training else 4096), id="vram-tokens", type="integer", compact=True)
                yield Label("Sequence length")
                yield Field(str(training.max_length if training else 2048), id="vram-seq", type="integer", compact=True)
                yield Label("Gradient checkpointing")
                yield Switch(bool(training and training.gradient_checkpointing), id="vram-ckpt")
                yield Label("Optimizer")
                yield Select([(o, o) for o in OPTIMIZERS], value="adamw", allow_blank=False, id="vram-optimizer", compact=True)
                yield Label("Method")
                method = training.method if training is not None else "full"
                yield Select([(m, m) for m in METHODS], value=method, allow_blank=False, id="vram-method", compact=True)
                yield Label("LoRA rank")
                yield Field(str(training.lora.rank if training else 16), id="vram-rank", type="integer", compact=True)
                yield Label("Attention")
                attention = "eager" if training is not None and training.attention == "eager" else "flash"
                yield Select([(a, a) for a in ATTENTIONS], value=attention, allow_blank=False, id="vram-attention", compact=True)
            with Vertical(id="vram-result"):
                yield Line("", id="vram-figures")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#vram-model", Select).focus()
        self.recompute()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "vram-model" and isinstance(event.value, str) and event.value in self.shapes:
            self.query_one("#vram-params", Field).value = str(self.shapes[event.value].parameters())
        self.recompute()

    def on_input_changed(self, event: Field.Changed) -> None:
        self.recompute()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.recompute()

    def number(self, widget_id: str) -> int | None:
        text = self.query_one(widget_id, Field).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def current(self) -> VramEstimate | str:
        model = self.query_one("#vram-model", Select).value
        shape = self.shapes.get(model) if isinstance(model, str) else None
        params, tokens, seq = self.number("#vram-params"), self.number("#vram-tokens"), self.number("#vram-seq")
        rank = self.number("#vram-rank")
        if shape is None:
            return "choose a model"
        if params is None or tokens is None or seq is None or rank is None:
            return "parameters, tokens per micro-batch, sequence length and LoRA rank must be whole numbers above 0"
        return estimate(
            shape, parameters=params, tokens_per_micro_batch=tokens, sequence_length=seq,
            precision=self.query_one("#vram-precision", Select).value,  # type: ignore[arg-type]
            gradient_checkpointing=self.query_one("#vram-ckpt", Switch).value,
            optimizer=self.query_one("#vram-optimizer", Select).value,  # type: ignore[arg-type]
            attention=self.query_one("#vram-attention", Select).value,  # type: ignore[arg-type]
            method=self.query_one("#vram-method", Select).value, lora_rank=rank,  # type: ignore[arg-type]
        )

    def recompute(self) -> None:
        try:
            result = self.current()
        except ValueError as exc:
            result = str(exc)
        figures = self.query_one("#vram-figures", Line)
        if isinstance(result, str):
            figures.set(Text(result, style="red"))
        else:
            figures.set(result_text(result))
        self.estimate = result

    def action_close(self) -> None:
        self.dismiss(None)
