"""Token ids -> text, incrementally: whole UTF-8 characters only, and stop strings held back.

- `IncrementalDecoder`: for byte-level BPE tokenizers (Qwen3's, nano DIO's) every token
  maps to its bytes once (a table), and an incremental UTF-8 decoder emits only complete
  characters, so a circled digit or an emoji split over several tokens never shows up as
  a replacement character; special tokens decode to nothing, other added tokens
  (`<think>`) to their text. Other tokenizers fall back to decoding a short window of ids
  and emitting what grew (the method of vLLM and TGI).
- `StopMatcher`: emits text as soon as it cannot be the start of a stop string, cuts at
  the first stop string and never emits the stop text itself.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Sequence
from typing import Any

from engine.nano_tokenizer import bytes_to_unicode

_U2B = {char: byte for byte, char in bytes_to_unicode().items()}  # ByteLevel's inverse


def _is_byte_level(tokenizer: Any) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    try:
        decoder = json.loads(backend.to_str()).get("decoder") or {}
    except (ValueError, AttributeError):
        return False
    return decoder.get("type") == "ByteLevel"


def byte_table(tokenizer: Any, size: int) -> list[bytes] | None:
    """bytes of every token id below `size` (special tokens: b""), or None when the
    tokenizer is not byte-level BPE."""
    if not _is_byte_level(tokenizer):
        return None
    table = [b""] * size
    added = {i: t for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items()}
    for token, i in tokenizer.backend_tokenizer.get_vocab(with_added_tokens=False).items():
        if i >= size or i in added:
            continue
        try:
            table[i] = bytes(_U2B[c] for c in token)
        except KeyError:
            return None
    for i, tok in added.items():
        if i < size:
            table[i] = b"" if tok.special else tok.content.encode("utf-8")
    return table


class IncrementalDecoder:
    """Feed ids one at a time; get back the text that is complete so far."""

    def __init__(self, tokenizer: Any, table: list[bytes] | None) -> None:
        self.tokenizer = tokenizer
        self.table = table
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def push(self, token_id: int) -> str:
        if self.table is not None:
            piece = self.table[token_id] if 0 <= token_id < len(self.table) else b""
            return self._utf8.decode(piece) if piece else ""
        self._ids.append(token_id)
        before = self._decode(self._ids[self._prefix:self._read])
        after = self._decode(self._ids[self._prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self._ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        if self.table is not None:
            return self._utf8.decode(b"", final=True)
        before = self._decode(self._ids[self._prefix:self._read])
        after = self._decode(self._ids[self._prefix:])
        self._prefix = self._read = len(self._ids)
        return after[len(before):]

    def _decode(self, ids: Sequence[int]) -> str:
        if not ids:
            return ""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)


class StopMatcher:
    """Cut the output at the first stop string; hold back text that may begin one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = sorted({s for s in stops if s}, key=len)
        self.pending = ""

    def push(self, text: str) -> tuple[str, bool]:
        """(text safe to emit now, whether a stop string was reached)."""
        if not self.stops:
            return text, False
        self.pending += text
        first = -1
        for stop in self.stops:
            i = self.pending.find(stop)
            if i >= 0 and (first < 0 or i < first):
                first = i
        if first >= 0:
            out, self.pending = self.pending[:first], ""
            return out, True
        hold = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self.pending)), hold, -1):
                if self.pending.endswith(stop[:k]):
                    hold = k
                    break
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out
