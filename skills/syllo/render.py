"""syllo_v1 record -> prompt text and chat_sft_v1 record."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from skills.spec import PromptSpec, load_spec

SY_YAML = Path(__file__).resolve().parents[1] / "sy.yaml"


@lru_cache(maxsize=1)
def default_prompt() -> PromptSpec:
    """The prompt format of skills/sy.yaml."""
    spec = load_spec(SY_YAML)
    assert spec.prompt is not None
    return spec.prompt


def clue_block(record: dict[str, Any]) -> str:
    lines = [f"Hidden word: {record['hidden'].upper()}"] if record.get("show_hidden") else []
    for i, w in enumerate(record["words"], 1):
        n = len(w["syllables"])
        lines.append(f"{i}. {w['clue']} ({n} syllable{'s' if n != 1 else ''})")
    return "\n".join(lines)


def prompt_fields(record: dict[str, Any]) -> dict[str, str]:
    """The placeholders of the user template: {count}, {syllables}, {clues}."""
    return {"count": str(len(record["words"])), "syllables": " ".join(record["pool"]), "clues": clue_block(record)}


def golden_answer(record: dict[str, Any]) -> str:
    """The target words in order, one per line."""
    return "\n".join(w["word"] for w in record["words"])


def syllo_to_chat(record: dict[str, Any], prompt: PromptSpec | None = None) -> dict[str, Any]:
    """A syllo_v1 record as a chat_sft_v1 record: [system], user, assistant (the golden answer).
    `prompt` defaults to the prompt format of skills/sy.yaml."""
    prompt = prompt or default_prompt()
    messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
    messages.append({"role": "user", "content": prompt.user.format_map(prompt_fields(record))})
    messages.append({"role": "assistant", "content": golden_answer(record)})
    return {"messages": messages}
