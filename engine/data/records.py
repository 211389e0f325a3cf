"""Read quest files (JSONL) into plain examples, checking each line against its schema.

Schemas are deny-by-default (docs/architecture.md): unknown keys are errors. Every error names the
file and line number and says how to fix it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import EngineError

MAX_REPORTED_ERRORS = 10


@dataclass(frozen=True)
class ChatExample:
    messages: list[dict[str, Any]]
    source: str  # "file:line"


@dataclass(frozen=True)
class CompletionExample:
    prompt: str
    completion: str
    source: str


Example = ChatExample | CompletionExample


class RecordError(ValueError):
    """One bad record; the message says what is wrong (the caller adds file and line)."""


def _check_keys(obj: dict[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise RecordError(f"{what} has unknown key(s) {extra}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(obj))
    if missing:
        raise RecordError(f"{what} is missing key(s) {missing}")


def parse_chat_record(record: Any) -> list[dict[str, Any]]:
    """chat_sft_v1: {"messages": [{"role", "content"[, "reasoning_content"]}, ...]}, last turn assistant."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    _check_keys(record, {"messages"}, {"messages"}, "the record")
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise RecordError("messages must be a non-empty list")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise RecordError(f"messages[{i}] must be an object")
        _check_keys(m, {"role", "content", "reasoning_content"}, {"role", "content"}, f"messages[{i}]")
        role = m["role"]
        if role not in ("system", "user", "assistant"):
            raise RecordError(f"messages[{i}].role must be system, user or assistant (got {role!r})")
        if not isinstance(m["content"], str):
            raise RecordError(f"messages[{i}].content must be a string")
        if "reasoning_content" in m:
            if role != "assistant":
                raise RecordError(f"messages[{i}]: reasoning_content is only allowed on assistant turns")
            if m["reasoning_content"] is not None and not isinstance(m["reasoning_content"], str):
                raise RecordError(f"messages[{i}].reasoning_content must be a string or null")
        out.append(dict(m))
    if not any(m["role"] == "assistant" for m in out):
        raise RecordError("needs at least one assistant turn")
    if out[-1]["role"] != "assistant":
        raise RecordError(f"the last turn must be from the assistant (it is {out[-1]['role']!r})")
    return out


def parse_completion_record(record: Any) -> tuple[str, str]:
    """completion_v1: {"prompt": str, "completion": str (non-empty)}."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    _check_keys(record, {"prompt", "completion"}, {"prompt", "completion"}, "the record")
    if not isinstance(record["prompt"], str) or not isinstance(record["completion"], str):
        raise RecordError("prompt and completion must be strings")
    if not record["completion"]:
        raise RecordError("completion is empty; there is nothing to train on")
    return record["prompt"], record["completion"]


def syllo_renderer() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """skills.syllo.syllo_to_chat, imported lazily (the SY skill owns the syllo_v1 rendering)."""
    try:
        from skills.syllo import syllo_to_chat  # type: ignore[import-not-found]
    except ImportError as exc:
        raise EngineError(
            "bad_data",
            f"syllo_v1 data needs skills.syllo.syllo_to_chat, which cannot be imported ({exc})",
            fix="install/update the skills package, or convert the file to chat_sft_v1",
        ) from None
    return syllo_to_chat


def _json_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if line.strip():
                    yield lineno, line
    except FileNotFoundError:
        raise EngineError("bad_data", "data file not found", where=str(path), fix="check data_files[].path") from None
    except UnicodeDecodeError as exc:
        raise EngineError("bad_data", f"data file is not UTF-8 ({exc.reason})", where=str(path)) from None


def read_examples(path: str | Path, schema: str) -> list[Example]:
    """All examples of one file; raises EngineError listing up to 10 bad lines (file:line: problem)."""
    p = Path(path)
    render_syllo = syllo_renderer() if schema == "syllo_v1" else None
    examples: list[Example] = []
    errors: list[str] = []
    n_errors = 0
    for lineno, line in _json_lines(p):
        source = f"{p}:{lineno}"
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            if schema == "completion_v1":
                prompt, completion = parse_completion_record(record)
                examples.append(CompletionExample(prompt, completion, source))
            else:
                if render_syllo is not None:
                    try:
                        record = render_syllo(record)
                    except Exception as exc:  # the skill's own validation error
                        raise RecordError(f"syllo_to_chat rejected the record: {exc}") from None
                examples.append(ChatExample(parse_chat_record(record), source))
        except RecordError as exc:
            n_errors += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(f"{source}: {exc}")
    if errors:
        more = f"\n... and {n_errors - len(errors)} more" if n_errors > len(errors) else ""
        raise EngineError(
            "bad_data",
            f"{n_errors} invalid {schema} record(s):\n" + "\n".join(errors) + more,
            where=str(p),
            fix=f"fix or remove those lines (schema {schema}; the README lists the quest file schemas)",
        )
    return examples
