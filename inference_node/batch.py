"""Greedy generation for many prompts at once: one forward per token for the whole batch.

Evaluation asks a checkpoint dozens of problems at temperature 0. Answered one request at a
time, each token of each problem is a forward of its own; on a small CPU model that cost is
overhead, not arithmetic, so a batch of 25 costs about what one does. Prompts are padded on
the left (each row's position ids count its own tokens only), the KV cache is shared, and a
row that ends (an end token, a stop string, max_tokens) leaves the batch and its cache, so
short answers do not pay for long ones. Each forward holds the model's FairLock, so chat
requests on the same model still interleave token by token.

Rows are decoded and cut at stop strings exactly as `generation.generate` does, so a batched
answer is the answer the same prompt gets alone (up to the rounding of a padded matmul).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import torch

from inference_node.decoding import IncrementalDecoder, StopMatcher
from inference_node.generation import GenerationResult

if TYPE_CHECKING:
    from inference_node.loading import ModelRuntime


class _Row:
    def __init__(self, runtime: "ModelRuntime", prompt_tokens: int) -> None:
        self.decoder = IncrementalDecoder(runtime.tokenizer, runtime.byte_table)
        self.stops = StopMatcher(tuple(runtime.stop_strings))
        self.pieces: list[str] = []
        self.prompt_tokens = prompt_tokens
        self.produced = 0
        self.finish: str | None = None

    def push(self, token: int, end_ids: frozenset[int]) -> None:
        self.produced += 1
        if token in end_ids:
            self.finish = "stop"
            return
        text, cut = self.stops.push(self.decoder.push(token))
        self.pieces.append(text)
        if cut:
            self.finish = "stop"

    def close(self, finish: str) -> None:
        """End a row that ran out of tokens: the held-back text is final now (as in generate)."""
        tail, cut = self.stops.push(self.decoder.flush())
        self.pieces.append(tail)
        if not cut:
            self.pieces.append(self.stops.flush())
        self.finish = "stop" if cut else finish

    def result(self, finish: str) -> GenerationResult:
        if self.finish is None and finish != "cancelled":
            self.close(finish)
        return GenerationResult("".join(self.pieces), self.finish or finish, self.prompt_tokens, self.produced)


def pad_id(runtime: "ModelRuntime") -> int:
    pad = getattr(runtime.tokenizer, "pad_token_id", None)
    return int(pad) if pad is not None else min(runtime.end_token_ids, default=0)


def generate_batch(runtime: "ModelRuntime", prompts: list[list[int]], max_tokens: list[int],
                   cancel: threading.Event) -> list[GenerationResult]:
    """Greedy answers for `prompts` (token ids), row i at most max_tokens[i] tokens."""
    from transformers import DynamicCache

    model, device = runtime.model, runtime.device
    rows = [_Row(runtime, len(p)) for p in prompts]
    width = max(len(p) for p in prompts)
    pad = pad_id(runtime)
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], dtype=torch.long, device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], dtype=torch.long, device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    finish = "length"
    live = list(range(len(rows)))  # rows still generating, in cache order
    with torch.inference_mode():
        cache = DynamicCache(config=model.config)
        for _ in range(max(max_tokens)):
            if cancel.is_set():
                finish = "cancelled"
                break
            with runtime.lock:
                out = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                            use_cache=True, logits_to_keep=1)
                logits = out.logits[:, -1].float()
                runtime.tokens_generated += len(live)
            if runtime.logit_bias is not None:
                logits = logits + runtime.logit_bias
            chosen = torch.argmax(logits, dim=-1).tolist()
            for i, token in zip(live, chosen):
                row = rows[i]
                row.push(int(token), runtime.end_token_ids)
                if row.finish is None and row.produced >= max_tokens[i]:
                    row.close("length")
            keep = [k for k, i in enumerate(live) if rows[i].finish is None]
            if not keep:
                break
            if len(keep) < len(live):  # ended rows leave the batch: the rest costs less per token
                index = torch.tensor(keep, dtype=torch.long, device=device)
                cache.batch_select_indices(index)
                mask, positions = mask[index], positions[index]
                live, chosen = [live[k] for k in keep], [chosen[k] for k in keep]
            ids = torch.tensor([[t] for t in chosen], dtype=torch.long, device=device)
            mask = torch.cat([mask, torch.ones((len(live), 1), dtype=torch.long, device=device)], dim=1)
            positions = positions[:, -1:] + 1
    return [row.result(finish) for row in rows]
