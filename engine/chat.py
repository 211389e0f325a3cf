"""Chat rendering: messages -> token ids + assistant mask, exactly as training sees them.

Used by the engine to build training examples and by the inference node to build
prompts, so that both agree token for token. Importing this module has no side
effects and imports neither torch nor transformers.

Two styles:

- `qwen3`: the real Qwen3 chat template (no tools), reproduced in Python, including its
  `<think>` handling: an assistant turn after the last user message gets
  `<think>\\n{reasoning}\\n</think>\\n\\n` before its content when it has reasoning or is the
  last message (then the block is the template-inserted empty `<think>\\n\\n</think>\\n\\n`);
  earlier assistant turns lose their reasoning.
- `chatml`: clean ChatML (nano DIO's template, and what the `emoji_think` and `regime3`
  profiles use): no injected think blocks; an explicit non-empty `reasoning_content` is
  written as a think block.

Special tokens are the template's alone. `<|im_start|>`, `<|im_end|>`, `<|endoftext|>` (any
token the tokenizer marks special) written inside message text are encoded as plain text,
character by character as any other text: a quest line or an Oracle message cannot forge a
turn, an end of turn or padding. Only the markers the renderer itself writes (`Control`)
become control tokens. Splitting the text at those markers and encoding the pieces between
them is what the tokenizer does with one string anyway, so ordinary text gets exactly the
template's tokens.

The assistant mask covers, for EVERY assistant turn, its content (and its reasoning
block when the reasoning is non-empty, since the model produces it) and the closing
`<|im_end|>`. It never covers `<|im_start|>assistant\\n`, the newline after `<|im_end|>`,
system or user text, or a template-inserted empty think block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

ChatStyle = Literal["qwen3", "chatml"]

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ROLES = ("system", "user", "assistant")
EMPTY_THINK = f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n"


class ChatFormatError(ValueError):
    """Messages that cannot be rendered (bad role, missing content, tools)."""


class Control(str):
    """A control token the renderer writes (`<|im_start|>`, `<|im_end|>`): the only text
    that becomes a special token."""


START, END = Control(IM_START), Control(IM_END)


@dataclass(frozen=True)
class Segment:
    text: str
    trained: bool
    controls: tuple[tuple[int, int], ...] = ()  # [start, end) character ranges of Control parts


def segment(trained: bool, *parts: str) -> Segment:
    """A segment from parts; `Control` parts are recorded as control tokens, the rest is text."""
    controls, pos = [], 0
    for part in parts:
        if isinstance(part, Control):
            controls.append((pos, pos + len(part)))
        pos += len(part)
    return Segment("".join(parts), trained, tuple(controls))


@dataclass(frozen=True)
class RenderedChat:
    """A rendered conversation: `input_ids` and a 0/1 `assistant_mask` of the same length."""

    text: str
    input_ids: list[int]
    assistant_mask: list[int]
    assistant_turns: int
    segments: tuple[Segment, ...] = field(repr=False, default=())

    def trained_spans(self) -> list[tuple[int, int]]:
        """[start, end) token ranges where the mask is 1."""
        spans, start = [], None
        for i, m in enumerate(self.assistant_mask):
            if m and start is None:
                start = i
            elif not m and start is not None:
                spans.append((start, i))
                start = None
        if start is not None:
            spans.append((start, len(self.assistant_mask)))
        return spans


def detect_style(tokenizer: Any) -> ChatStyle:
    """`qwen3` when the tokenizer's template is Qwen3's (it injects think blocks), else `chatml`."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):
        template = template.get("default", "")
    return "qwen3" if "reasoning_content" in template and "last_query_index" in template else "chatml"


def _message_fields(message: Mapping[str, Any], index: int) -> tuple[str, str, str | None]:
    role = message.get("role")
    if role not in ROLES:
        raise ChatFormatError(
            f"message {index}: role must be one of {', '.join(ROLES)} (got {role!r}); tool calls are not supported"
        )
    content = message.get("content")
    if not isinstance(content, str):
        raise ChatFormatError(f"message {index} ({role}): content must be a string (got {type(content).__name__})")
    reasoning = message.get("reasoning_content")
    if reasoning is not None and not isinstance(reasoning, str):
        raise ChatFormatError(f"message {index} ({role}): reasoning_content must be a string or null")
    if message.get("tool_calls"):
        raise ChatFormatError(f"message {index} ({role}): tool_calls are not supported")
    return role, content, reasoning


def _split_reasoning(content: str, reasoning: str | None) -> tuple[str, str]:
    """Qwen3's rule: explicit reasoning_content wins; else a `</think>` inside content splits it."""
    if reasoning is not None:
        return content, reasoning
    if THINK_CLOSE in content:
        after = content.split(THINK_CLOSE)[-1].lstrip("\n")
        before = content.split(THINK_CLOSE)[0].rstrip("\n").split(THINK_OPEN)[-1].lstrip("\n")
        return after, before
    return content, ""


def _last_query_index(messages: Sequence[Mapping[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        c = m.get("content", "")
        if m.get("role") == "user" and not (c.startswith("<tool_response>") and c.endswith("</tool_response>")):
            return i
    return len(messages) - 1


def _assistant_segments(content: str, reasoning: str, with_block: bool) -> list[Segment]:
    segs = [segment(False, START, "assistant\n")]
    if with_block:
        r = reasoning.strip("\n")
        block = f"{THINK_OPEN}\n{r}\n{THINK_CLOSE}\n\n"
        segs.append(Segment(block, bool(r)))
        content = content.lstrip("\n")
    segs.append(segment(True, content, END))
    segs.append(Segment("\n", False))
    return segs


def render_segments(
    messages: Sequence[Mapping[str, Any]],
    style: ChatStyle,
    add_generation_prompt: bool = False,
    enable_thinking: bool = False,
) -> list[Segment]:
    """The conversation as text segments, each marked trained or not."""
    if not messages:
        raise ChatFormatError("no messages to render")
    fields = [_message_fields(m, i) for i, m in enumerate(messages)]
    segs: list[Segment] = []
    last_query = _last_query_index(messages)
    for i, (role, content, reasoning) in enumerate(fields):
        if role != "assistant":
            segs.append(segment(False, START, f"{role}\n", content, END, "\n"))
            continue
        if style == "chatml":
            r = (reasoning or "").strip("\n")
            segs += _assistant_segments(content, r, with_block=bool(r))
            continue
        content, r = _split_reasoning(content, reasoning)
        is_last = i == len(fields) - 1
        with_block = i > last_query and (is_last or bool(r))
        segs += _assistant_segments(content, r if with_block else "", with_block)
    if add_generation_prompt:
        segs.append(segment(False, START, "assistant\n"))
        if style == "qwen3" and not enable_thinking:
            segs.append(Segment(EMPTY_THINK, False))
    return [s for s in segs if s.text]


def _plain_backend(tokenizer: Any) -> Any | None:
    """A copy of the fast tokenizer's backend that encodes special-token text as plain text
    (cached on the tokenizer; the original is never changed, so it stays safe across threads)."""
    cached = getattr(tokenizer, "_realm_plain_backend", None)
    if cached is not None:
        return cached
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.encode_special_tokens = True
    try:
        tokenizer._realm_plain_backend = plain
    except AttributeError:
        pass
    return plain


def _control_id(tokenizer: Any, text: str) -> int:
    token_id = tokenizer.convert_tokens_to_ids(text)
    if not isinstance(token_id, int) or token_id < 0 or token_id == getattr(tokenizer, "unk_token_id", None):
        raise ChatFormatError(f"the tokenizer has no {text} token; a chat template needs it")
    return token_id


def _pieces(segs: Sequence[Segment]) -> tuple[str, list[tuple[int, int, bool]]]:
    """The whole text and its pieces: (start, end, is_control), in order."""
    text = "".join(s.text for s in segs)
    pieces, pos, cut = [], 0, 0
    for s in segs:
        for a, b in s.controls:
            if pos + a > cut:
                pieces.append((cut, pos + a, False))
            pieces.append((pos + a, pos + b, True))
            cut = pos + b
        pos += len(s.text)
    if cut < len(text):
        pieces.append((cut, len(text), False))
    return text, pieces


def encode_plain(tokenizer: Any, text: str) -> list[int]:
    """Token ids of `text` with any special-token text in it encoded as plain text."""
    plain = _plain_backend(tokenizer)
    if plain is not None:
        return list(plain.encode(text, add_special_tokens=False).ids)
    return list(tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True))


def encode_segments(tokenizer: Any, segs: Sequence[Segment]) -> tuple[str, list[int], list[tuple[int, int]] | None]:
    """(text, ids, character offsets or None): control parts as their tokens, everything else plain."""
    text, pieces = _pieces(segs)
    plain = _plain_backend(tokenizer)
    ids: list[int] = []
    offsets: list[tuple[int, int]] | None = [] if plain is not None else None
    spans = [(a, b) for a, b, control in pieces if not control]
    encoded = iter(plain.encode_batch([text[a:b] for a, b in spans], add_special_tokens=False)
                   if plain is not None else [encode_plain(tokenizer, text[a:b]) for a, b in spans])
    for a, b, control in pieces:
        if control:
            ids.append(_control_id(tokenizer, text[a:b]))
            if offsets is not None:
                offsets.append((a, b))
            continue
        enc = next(encoded)
        if offsets is None:
            ids += enc
        else:
            ids += enc.ids
            offsets += [(a + x, a + y) for x, y in enc.offsets]
    return text, ids, offsets


def _encode_by_segment(tokenizer: Any, segs: Sequence[Segment]) -> tuple[list[int], list[int]]:
    """Fallback for tokenizers without offsets: encode segment by segment."""
    ids: list[int] = []
    mask: list[int] = []
    for s in segs:
        _, part, _ = encode_segments(tokenizer, [s])
        ids += part
        mask += [int(s.trained)] * len(part)
    return ids, mask


def tokenize_segments(tokenizer: Any, segs: Sequence[Segment]) -> tuple[str, list[int], list[int]]:
    """Tokenize the conversation (as the template would, with content never parsed for special
    tokens) and mark the tokens that start in a trained segment."""
    text, ids, offsets = encode_segments(tokenizer, segs)
    if offsets is None:
        ids, mask = _encode_by_segment(tokenizer, segs)
        return text, ids, mask
    trained_char = bytearray(len(text))
    pos = 0
    for s in segs:
        if s.trained:
            trained_char[pos : pos + len(s.text)] = b"\x01" * len(s.text)
        pos += len(s.text)
    mask = [int(start < len(text) and trained_char[start] == 1 and end > start) for start, end in offsets]
    return text, ids, mask


def render_chat(
    tokenizer: Any,
    messages: Sequence[Mapping[str, Any]],
    style: ChatStyle | None = None,
) -> RenderedChat:
    """Render a training conversation (ending with an assistant turn or not) to ids + assistant mask."""
    style = style or detect_style(tokenizer)
    segs = render_segments(messages, style)
    text, ids, mask = tokenize_segments(tokenizer, segs)
    turns = sum(1 for m in messages if m.get("role") == "assistant")
    return RenderedChat(text=text, input_ids=ids, assistant_mask=mask, assistant_turns=turns, segments=tuple(segs))


def render_prompt_text(
    messages: Sequence[Mapping[str, Any]],
    style: ChatStyle,
    enable_thinking: bool = False,
) -> str:
    """The prompt text for generation: the conversation plus `<|im_start|>assistant\\n`
    (and, in the qwen3 style with thinking off, the empty think block training placed there)."""
    segs = render_segments(messages, style, add_generation_prompt=True, enable_thinking=enable_thinking)
    return "".join(s.text for s in segs)


def render_prompt_ids(
    tokenizer: Any,
    messages: Sequence[Mapping[str, Any]],
    style: ChatStyle | None = None,
    enable_thinking: bool = False,
) -> list[int]:
    """Token ids of `render_prompt_text`, tokenized exactly as in training (message content
    never becomes a special token)."""
    style = style or detect_style(tokenizer)
    segs = render_segments(messages, style, add_generation_prompt=True, enable_thinking=enable_thinking)
    return encode_segments(tokenizer, segs)[1]


def response_template_ids(tokenizer: Any) -> list[int]:
    """Token ids of `<|im_start|>assistant\\n`, the header every assistant turn starts with."""
    return encode_segments(tokenizer, [segment(False, START, "assistant\n")])[1]
