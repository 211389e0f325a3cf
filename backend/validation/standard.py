"""STANDARD helpers: the hero's tokenizer, the ChatML rendering that training uses, example keys.

Token counts: a chat example is rendered the way ChatML does,
``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per turn, and encoded without
extra special tokens, so the count matches training within a few tokens (the
engine may add a generation prefix or think markers). A completion_v1 example
counts ``prompt + completion`` plus one end-of-text token. An assistant turn
with a non-empty `reasoning_content` gets ``<think>\n{reasoning}\n</think>\n\n``
before its content (the engine's `chatml` style).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from backend.validation.spec import Example

_CACHE: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


def load_tokenizer(path: Path) -> Any:
    """A `tokenizers.Tokenizer` from a tokenizer.json, cached per (path, mtime, size)."""
    from tokenizers import Tokenizer

    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_mtime_ns, st.st_size)
    with _LOCK:
        tok = _CACHE.get(key)
        if tok is None:
            tok = Tokenizer.from_file(real)
            for old in [k for k in _CACHE if k[0] == real]:
                del _CACHE[old]
            _CACHE[key] = tok
        return tok


def render_chatml(turns: list[tuple[str, str]], reasoning: dict[int, str] | None = None) -> str:
    """ChatML; an assistant turn with non-empty reasoning_content gets its think block first."""
    if not reasoning:
        return "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in turns)
    parts = []
    for i, (role, content) in enumerate(turns):
        r = reasoning.get(i, "").strip("\n")
        if r:
            content = f"<think>\n{r}\n</think>\n\n{content.lstrip(chr(10))}"
        parts.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
    return "".join(parts)


def token_text(ex: Example) -> tuple[str, int]:
    """(text to encode, tokens to add) for one example."""
    if ex.turns is None:
        return ex.prompt + ex.answer, 1
    return render_chatml(ex.turns, ex.reasoning), 0


def example_key(ex: Example, rendered: str) -> bytes:
    """Identity of an example's content (JSON formatting and key order do not matter)."""
    data = rendered if ex.turns is not None else f"completion\x00{ex.prompt}\x00{ex.answer}"
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def count_tokens(tokenizer: Any, texts: list[str]) -> list[int]:
    encode = getattr(tokenizer, "encode_batch_fast", None) or tokenizer.encode_batch
    return [len(e.ids) for e in encode(texts, add_special_tokens=False)]
