"""How many positions the engine's LM head and loss take at once (engine.forward), shared with
the memory calculator (backend.vram) so that the estimate follows what the engine does."""

from __future__ import annotations

LOGIT_CHUNK_ELEMENTS = 1 << 28  # fp32 logits of one loss chunk: 1 GiB (Qwen3's 151,936 words: 1,766 rows)
MIN_CHUNK_ROWS = 256


def loss_chunk_rows(vocab: int, elements: int = LOGIT_CHUNK_ELEMENTS, floor: int = MIN_CHUNK_ROWS) -> int:
    """Rows of [rows, vocab] logits per loss chunk (nano's small vocabulary never needs more than one)."""
    return max(floor, elements // max(1, vocab))
