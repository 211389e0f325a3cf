"""Examples -> token ids + labels (-100 where nothing is trained), with the overlength policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.chat import ChatStyle, encode_plain, render_chat
from engine.data.records import ChatExample, CompletionExample, Example
from engine.profiles.base import DataProfile

IGNORE = -100


@dataclass(frozen=True, slots=True)
class TokenizedExample:
    """One training example. `labels[i]` is the token expected at position i, or -100.

    labels[0] is always -100 (nothing predicts the first token; in a packed row the
    previous example's last position must not learn to predict it). Positions after
    the last trained label are trimmed: they cannot influence any trained prediction.
    """

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    kind: Literal["chat", "completion"]
    expected_spans: int  # assistant turns (chat) or 1 (completion)
    source: str

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_supervised(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


@dataclass
class TokenizeStats:
    dropped_overlength: int = 0
    truncated_overlength: int = 0
    dropped_unsupervised: int = 0


def _labels_from_mask(ids: list[int], mask: list[int]) -> list[int]:
    labels = [t if m else IGNORE for t, m in zip(ids, mask)]
    if labels:
        labels[0] = IGNORE
    return labels


def _trim_after_last_label(ids: list[int], labels: list[int]) -> tuple[list[int], list[int]]:
    last = max((i for i, x in enumerate(labels) if x != IGNORE), default=-1)
    return ids[: last + 1], labels[: last + 1]


def tokenize_chat(
    tokenizer: Any, ex: ChatExample, profile: DataProfile, style: ChatStyle
) -> tuple[list[int], list[int], int]:
    messages = profile.transform_messages(ex.messages)
    rendered = render_chat(tokenizer, messages, style=style)
    return rendered.input_ids, _labels_from_mask(rendered.input_ids, rendered.assistant_mask), rendered.assistant_turns


def tokenize_completion(tokenizer: Any, ex: CompletionExample) -> tuple[list[int], list[int]]:
    prompt = encode_plain(tokenizer, ex.prompt) if ex.prompt else []
    completion = encode_plain(tokenizer, ex.completion) + [tokenizer.eos_token_id]
    ids = prompt + completion
    mask = [0] * len(prompt) + [1] * len(completion)
    return ids, _labels_from_mask(ids, mask)


def tokenize_example(
    tokenizer: Any,
    ex: Example,
    profile: DataProfile,
    style: ChatStyle,
    max_length: int,
    overlength: Literal["drop", "truncate"],
    stats: TokenizeStats,
) -> TokenizedExample | None:
    """The tokenized example, or None when it is dropped (counted in `stats`)."""
    if isinstance(ex, ChatExample):
        ids, labels, spans = tokenize_chat(tokenizer, ex, profile, style)
        kind: Literal["chat", "completion"] = "chat"
    else:
        ids, labels = tokenize_completion(tokenizer, ex)
        spans, kind = 1, "completion"
    ids, labels = _trim_after_last_label(ids, labels)
    if len(ids) > max_length:
        if overlength == "drop":
            stats.dropped_overlength += 1
            return None
        ids, labels = _trim_after_last_label(ids[:max_length], labels[:max_length])
        stats.truncated_overlength += 1
    if not ids or all(x == IGNORE for x in labels):
        stats.dropped_unsupervised += 1
        return None
    return TokenizedExample(tuple(ids), tuple(labels), kind, spans, ex.source)
