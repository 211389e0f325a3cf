"""SpecValidator: which schema a quest file speaks, and whether one parsed line obeys it.

Deny by default. A file maps to exactly one of `chat_sft_v1`, `completion_v1`,
`syllo_v1`:

- declared: the sidecar's `"schema"` names it; every line is checked against it;
- detected: otherwise, from the lines' keys. Each schema has signature keys
  (chat_sft_v1: `messages`; completion_v1: `prompt`, `completion`; syllo_v1:
  `hidden`, `pool`, `distractors`, `show_hidden`). The first JSON object line
  with a signature decides; a line with the signature keys of two schemas makes
  an undeclared file `ambiguous_schema`; lines of two schemas make it
  `mixed_schema`; no signature anywhere makes it `unknown_schema`. All three
  reject the file before the queue.

Keys: exactly the schema's own, as the engine's reader (engine/data/records.py)
accepts them: a line the validator passes must never fail in battle. Optional
extra top-level keys (`ValidationLimits.extra_keys`, e.g. `id` as a string or
number, `meta` as an object) can be allowed once the engine ignores them; the
default allows none. syllo_v1 records are checked by the SY skill
(`skills.syllo.validate_syllo`), which owns that schema.

chat_sft_v1 turn rules: each turn is {role, content} plus, on assistant turns
only, an optional `reasoning_content` (string or null); role is system, user or
assistant; content is a non-blank string; a system turn only first; then user
and assistant alternate, starting with user and ending with the assistant (so
there is at least one assistant turn).

completion_v1: {prompt, completion}, both strings; the completion is not blank
(the prompt may be empty: unconditional text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.validation.limits import ValidationLimits
from backend.validation.text import safe_text

SCHEMAS: tuple[str, ...] = ("chat_sft_v1", "completion_v1", "syllo_v1")
SIGNATURE_KEYS: dict[str, frozenset[str]] = {
    "chat_sft_v1": frozenset({"messages"}),
    "completion_v1": frozenset({"prompt", "completion"}),
    "syllo_v1": frozenset({"hidden", "pool", "distractors", "show_hidden"}),
}
TURN_KEYS = frozenset({"role", "content"})
ASSISTANT_KEYS = frozenset({"role", "content", "reasoning_content"})
ROLES = frozenset({"system", "user", "assistant"})

Problem = tuple[str, str]  # (reason code, message)
CONTROL_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>")  # ChatML control tokens: <|im_end|>, <|endoftext|>, ...


def control_token(text: str) -> str | None:
    """The first chat control token written inside a text, shown safely, or None."""
    if "<|" not in text:
        return None
    found = CONTROL_TOKEN.search(text)
    return safe_text(found.group(0), 48) if found else None


def _keys(keys: Any) -> str:
    return ", ".join(safe_text(repr(k), 40) for k in sorted(keys))


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def signature(obj: dict[str, Any]) -> tuple[str, ...]:
    """The schemas whose signature keys the object carries (usually one)."""
    found = []
    if "messages" in obj:
        found.append("chat_sft_v1")
    if "prompt" in obj or "completion" in obj:
        found.append("completion_v1")
    if "hidden" in obj or "pool" in obj or "distractors" in obj or "show_hidden" in obj:
        found.append("syllo_v1")
    return tuple(found)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _extra_problem(obj: dict[str, Any]) -> Problem | None:
    if "id" in obj and (type(obj["id"]) not in (str, int)):
        return "wrong_type", f"'id' must be a string or a number (got {_type(obj['id'])})"
    if "meta" in obj and type(obj["meta"]) is not dict:
        return "wrong_type", f"'meta' must be an object (got {_type(obj['meta'])})"
    return None


class SpecValidator:
    """Schema detection and per-line schema checks (QUICK)."""

    def __init__(self, limits: ValidationLimits | None = None) -> None:
        self.limits = limits or ValidationLimits()
        self._syllo: Callable[[Any], list[str]] | None = None
        extra = frozenset(self.limits.extra_keys)
        self.chat_keys = frozenset({"messages"}) | extra
        self.completion_keys = frozenset({"prompt", "completion"}) | extra

    # ----- detection ---------------------------------------------------------------------
    signature = staticmethod(signature)

    def detect(self, objects: list[Any]) -> tuple[str | None, Problem | None]:
        """(schema, None) or (None, (file reason code, message)) for a sample of parsed lines."""
        seen: dict[str, int] = {}
        for i, obj in enumerate(objects, 1):
            if not isinstance(obj, dict):
                continue
            sig = signature(obj)
            if len(sig) > 1:
                return None, ("ambiguous_schema", f"object {i} of the sample has the keys of {' and '.join(sig)}")
            if sig:
                seen.setdefault(sig[0], i)
        if len(seen) > 1:
            return None, ("mixed_schema", "the sample mixes " + " and ".join(seen))
        if not seen:
            return None, ("unknown_schema", "no object in the sample has the keys of a known schema")
        return next(iter(seen)), None

    # ----- per line --------------------------------------------------------------------------
    def checker(self, schema: str) -> Callable[[dict[str, Any], bool], Problem | None]:
        """The check of one parsed JSON object: `check(obj, maybe_surrogates)` -> problem or None."""
        if schema == "chat_sft_v1":
            return self.check_chat
        if schema == "completion_v1":
            return self.check_completion
        if schema == "syllo_v1":
            if self._syllo is None:
                from skills.syllo import validate_syllo  # the SY skill owns syllo_v1

                self._syllo = validate_syllo
            return self.check_syllo
        raise ValueError(f"unknown schema {schema!r}")

    def check_chat(self, obj: dict[str, Any], maybe_surrogates: bool = True) -> Problem | None:
        if len(obj) != 1 or "messages" not in obj:
            unknown = obj.keys() - self.chat_keys
            if unknown:
                return "unknown_key", f"unknown key(s) {_keys(unknown)}; chat_sft_v1 allows {_keys(self.chat_keys)}"
            if "messages" not in obj:
                return "missing_key", "no 'messages' key (chat_sft_v1 is {\"messages\": [...]})"
            extra = _extra_problem(obj)
            if extra:
                return extra
        messages = obj["messages"]
        if type(messages) is not list:
            return "wrong_type", f"'messages' must be an array of turns (got {_type(messages)})"
        n = len(messages)
        if n == 0:
            return "empty_messages", "'messages' is empty"
        if n > self.limits.max_turns:
            return "too_many_turns", f"{n} turns; the limit is {self.limits.max_turns}"
        max_chars = self.limits.max_content_chars
        roles = []
        for i, turn in enumerate(messages):
            if type(turn) is not dict:
                return "wrong_type", f"messages[{i}] must be an object {{role, content}} (got {_type(turn)})"
            if len(turn) != 2 or "role" not in turn or "content" not in turn:
                unknown = turn.keys() - ASSISTANT_KEYS
                if unknown:
                    return "unknown_key", f"messages[{i}] has unknown key(s) {_keys(unknown)}; a turn is {{role, content}}"
                missing = sorted(TURN_KEYS - turn.keys())
                if missing:
                    return "missing_key", f"messages[{i}] has no {' and no '.join(repr(k) for k in missing)}"
                if turn["role"] != "assistant":
                    return "unknown_key", f"messages[{i}]: 'reasoning_content' is only allowed on assistant turns"
                reasoning = turn["reasoning_content"]
                if reasoning is not None and type(reasoning) is not str:
                    return "wrong_type", f"messages[{i}].reasoning_content must be a string or null (got {_type(reasoning)})"
                if reasoning and maybe_surrogates and _has_surrogate(reasoning):
                    return "invalid_unicode", f"messages[{i}].reasoning_content holds a lone surrogate"
            role = turn["role"]
            if type(role) is not str or role not in ROLES:
                return "bad_role", f"messages[{i}].role is {safe_text(repr(role), 40)}; use system, user or assistant"
            content = turn["content"]
            if type(content) is not str:
                return "wrong_type", f"messages[{i}].content must be a string (got {_type(content)})"
            if not content or content.isspace():
                return "empty_content", f"messages[{i}] ({role}) has empty content"
            if len(content) > max_chars:
                return "content_too_long", f"messages[{i}].content has {len(content):,} characters; the limit is {max_chars:,}"
            if maybe_surrogates and _has_surrogate(content):
                return "invalid_unicode", f"messages[{i}].content holds a lone surrogate"
            token = control_token(content) or control_token(turn.get("reasoning_content") or "")
            if token:
                return "control_token", f"messages[{i}] ({role}) holds the control token {token}"
            if role == "system" and i:
                return "system_not_first", f"messages[{i}] is a system turn; only the first turn may be"
            roles.append(role)
        if "assistant" not in roles:
            return "no_assistant", f"no assistant turn among the {n} turn(s)"
        if roles[-1] != "assistant":
            return "last_not_assistant", f"the last turn (messages[{n - 1}]) is from the {roles[-1]}"
        start = 1 if roles[0] == "system" else 0
        if roles[start] != "user":
            return "first_not_user", f"messages[{start}] is from the {roles[start]}; the conversation must start with the user"
        for j in range(start + 1, n):
            if roles[j] == roles[j - 1]:
                return "bad_turn_order", f"messages[{j - 1}] and messages[{j}] are both from the {roles[j]}"
        return None

    def check_completion(self, obj: dict[str, Any], maybe_surrogates: bool = True) -> Problem | None:
        if len(obj) != 2 or "prompt" not in obj or "completion" not in obj:
            unknown = obj.keys() - self.completion_keys
            if unknown:
                return "unknown_key", f"unknown key(s) {_keys(unknown)}; completion_v1 allows {_keys(self.completion_keys)}"
            missing = sorted({"prompt", "completion"} - obj.keys())
            if missing:
                return "missing_key", f"no {' and no '.join(repr(k) for k in missing)} key (completion_v1 is {{\"prompt\": str, \"completion\": str}})"
            extra = _extra_problem(obj)
            if extra:
                return extra
        for key in ("prompt", "completion"):
            value = obj[key]
            if type(value) is not str:
                return "wrong_type", f"'{key}' must be a string (got {_type(value)})"
            if key == "completion" and (not value or value.isspace()):
                return "empty_content", "'completion' is empty; there is nothing to train on"
            if len(value) > self.limits.max_content_chars:
                return "content_too_long", f"'{key}' has {len(value):,} characters; the limit is {self.limits.max_content_chars:,}"
            if maybe_surrogates and _has_surrogate(value):
                return "invalid_unicode", f"'{key}' holds a lone surrogate"
            token = control_token(value)
            if token:
                return "control_token", f"'{key}' holds the control token {token}"
        return None

    def check_syllo(self, obj: dict[str, Any], maybe_surrogates: bool = True) -> Problem | None:
        assert self._syllo is not None
        try:
            problems = self._syllo(obj)
        except Exception as exc:  # the skill's validator must never take the daemon down
            return "invalid_record", f"the syllo_v1 validator failed on this record: {safe_text(repr(exc), 120)}"
        if problems:
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            return "invalid_record", "; ".join(safe_text(p, 120) for p in problems[:3]) + more
        if maybe_surrogates and _has_surrogate(repr(obj)):
            return "invalid_unicode", "a text of the record holds a lone surrogate"
        token = control_token(json.dumps(obj, ensure_ascii=False))
        if token:
            return "control_token", f"a text of the record holds the control token {token}"
        return None


@dataclass(slots=True)
class Example:
    """One good line, in the form the STANDARD and DEEP checks read.

    turns: the chat turns as (role, content) (syllo_v1 rendered by the SY skill);
    None for completion_v1, whose `prompt`/`answer` are the two fields.
    """

    line: int
    offset: int
    raw: bytes
    turns: list[tuple[str, str]] | None
    prompt: str  # the last user turn (chat), the prompt (completion)
    answer: str  # the last assistant turn (chat), the completion
    reasoning: dict[int, str] | None = None  # turn index -> non-empty reasoning_content


def to_example(line: int, offset: int, raw: bytes, obj: dict[str, Any], schema: str, render_syllo: Callable[[Any], Any] | None = None) -> Example:
    if schema == "completion_v1":
        return Example(line, offset, raw, None, obj["prompt"], obj["completion"])
    if schema == "syllo_v1":
        assert render_syllo is not None
        obj = render_syllo(obj)
    messages = obj["messages"]
    turns = [(t["role"], t["content"]) for t in messages]
    reasoning = {i: t["reasoning_content"] for i, t in enumerate(messages) if len(t) > 2 and t.get("reasoning_content")} or None
    prompt = next((c for r, c in reversed(turns) if r == "user"), "")
    return Example(line, offset, raw, turns, prompt, turns[-1][1], reasoning)
