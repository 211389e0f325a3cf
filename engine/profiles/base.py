"""The DataProfile interface: how a profile shapes examples and generation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from engine.chat import ChatStyle, THINK_CLOSE, THINK_OPEN

Message = dict[str, Any]


class DataProfile(ABC):
    """Transforms training examples and tells inference how to prompt and stop."""

    name: str = "none"
    chat_style: ChatStyle | None = None  # None: the tokenizer's own style

    def system_prompt(self) -> str | None:
        """System message added to examples that have none (None: add nothing)."""
        return None

    def stop_sequences(self) -> list[str]:
        """Strings that end a generation."""
        return ["<|im_end|>"]

    def logit_penalties(self) -> dict[str, float]:
        """Additive logit biases by token string, applied during generation."""
        return {}

    @abstractmethod
    def transform_assistant(self, content: str, reasoning: str) -> str:
        """The assistant content to train on, given its answer and reasoning ("" if none)."""

    def transform_messages(self, messages: list[Message]) -> list[Message]:
        """Apply the profile to one example's messages (a new list; the input is not changed)."""
        out = [dict(m) for m in messages]
        prompt = self.system_prompt()
        if prompt and (not out or out[0].get("role") != "system"):
            out.insert(0, {"role": "system", "content": prompt})
        for m in out:
            if m.get("role") == "assistant":
                content, reasoning = split_reasoning(m.get("content", ""), m.pop("reasoning_content", None))
                m["content"] = self.transform_assistant(content, reasoning)
        return out

    def describe(self) -> dict[str, Any]:
        """What a checkpoint records about the profile (contracts.checkpoint.ProfileInfo)."""
        return {
            "name": self.name,
            "chat_style": self.chat_style or "tokenizer",
            "system_prompt": self.system_prompt(),
            "stop_sequences": self.stop_sequences(),
            "logit_penalties": self.logit_penalties(),
        }


def split_reasoning(content: str, reasoning: str | None) -> tuple[str, str]:
    """(answer, reasoning): explicit reasoning wins; else a `<think>...</think>` inside content."""
    if reasoning is not None:
        return content, reasoning.strip()
    if THINK_CLOSE in content:
        answer = content.split(THINK_CLOSE)[-1].strip()
        thought = content.split(THINK_CLOSE)[0].split(THINK_OPEN)[-1].strip()
        return answer, thought
    return content, ""


THINK_PENALTIES = {THINK_OPEN: -100.0, THINK_CLOSE: -100.0}
