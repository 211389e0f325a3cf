"""The sampling loop: one request, token by token, over a Hugging Face causal LM with a KV cache.

Runs in a worker thread (never on the event loop). Each forward step holds the model's
`FairLock`, so concurrent requests on one model interleave token by token in arrival
order; sampling, decoding and stop matching happen outside the lock. The loop checks
its cancellation flag before every step, so a disconnected client stops it within one
token.

temperature 0 is greedy (deterministic); otherwise softmax(logits / T) restricted to
the top_p nucleus, drawn from a torch.Generator seeded with `seed` (or a random seed).
The profile's logit penalties are added to the logits first. Generation ends at an end
token (eos, `<|im_end|>`, a profile stop that is one special token) -> "stop", at a stop
string (never emitted) -> "stop", or after max_tokens -> "length".
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from inference_node.decoding import IncrementalDecoder, StopMatcher

if TYPE_CHECKING:
    from inference_node.loading import ModelRuntime

GREEDY_BELOW = 1e-5


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    ignore_eos: bool = False


@dataclass
class GenerationResult:
    text: str
    finish_reason: str  # stop | length | cancelled
    prompt_tokens: int
    completion_tokens: int


def sample_next(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> int:
    """One token id from 1-D float logits."""
    if params.temperature < GREEDY_BELOW:
        return int(torch.argmax(logits))
    scaled = logits / params.temperature
    if params.top_p < 1.0:
        sorted_logits, order = torch.sort(scaled, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        cumulative = torch.cumsum(probs, dim=-1)
        outside = (cumulative - probs) > params.top_p  # keeps at least the top token
        sorted_logits = sorted_logits.masked_fill(outside, float("-inf"))
        choice = torch.multinomial(torch.softmax(sorted_logits, dim=-1), 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=generator))


def make_generator(device: torch.device, seed: int | None) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed if seed is not None else secrets.randbits(63))
    return gen


def generate(
    runtime: "ModelRuntime",
    prompt_ids: list[int],
    params: SamplingParams,
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
) -> GenerationResult:
    """Generate for one request; `on_text` gets each non-empty piece of text as it is final."""
    from transformers import DynamicCache

    model, device = runtime.model, runtime.device
    decoder = IncrementalDecoder(runtime.tokenizer, runtime.byte_table)
    stops = StopMatcher(tuple(params.stop) + tuple(runtime.stop_strings))
    end_ids = frozenset() if params.ignore_eos else runtime.end_token_ids
    generator = None if params.temperature < GREEDY_BELOW else make_generator(device, params.seed)
    pieces: list[str] = []
    finish = "length"
    produced = 0
    cut_at_stop_string = False

    def emit(text: str) -> None:
        if text:
            pieces.append(text)
            if on_text is not None:
                on_text(text)

    with torch.inference_mode():
        cache = DynamicCache(config=model.config)
        inputs = torch.tensor([prompt_ids], dtype=torch.long, device=device)
        while produced < params.max_tokens:
            if cancel.is_set():
                finish = "cancelled"
                break
            with runtime.lock:
                out = model(input_ids=inputs, cache=cache, use_cache=True, logits_to_keep=1)
                logits = out.logits[0, -1].float()
                runtime.tokens_generated += 1
            if runtime.logit_bias is not None:
                logits = logits + runtime.logit_bias
            token = sample_next(logits, params, generator)
            produced += 1
            if token in end_ids:
                finish = "stop"
                break
            text, cut_at_stop_string = stops.push(decoder.push(token))
            emit(text)
            if cut_at_stop_string:
                finish = "stop"
                break
            inputs = torch.tensor([[token]], dtype=torch.long, device=device)
    if finish != "cancelled" and not cut_at_stop_string:
        # bytes of an unfinished character and text held back for a possible stop string
        tail, cut_at_stop_string = stops.push(decoder.flush())
        emit(tail)
        if cut_at_stop_string:
            finish = "stop"
        else:
            emit(stops.flush())
    return GenerationResult("".join(pieces), finish, len(prompt_ids), produced)
