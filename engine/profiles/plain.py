"""Profile `none`: examples as they are, rendered with the tokenizer's own chat style."""

from __future__ import annotations

from engine.profiles.base import DataProfile, Message


class PlainProfile(DataProfile):
    name = "none"

    def transform_assistant(self, content: str, reasoning: str) -> str:
        return content

    def transform_messages(self, messages: list[Message]) -> list[Message]:
        return [dict(m) for m in messages]
