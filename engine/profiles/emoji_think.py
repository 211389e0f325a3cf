"""Profile `emoji_think`: reasoning in an emoji thinking block, an emoji stop signal, no `<think>`.

Assistant turns become `🤔 {reasoning} 💡\\n{answer} 🏁` (without reasoning: `{answer} 🏁`).
Generation stops at 🏁 and `<think>`/`</think>` are suppressed. Rendered as clean ChatML.
"""

from __future__ import annotations

from engine.profiles.base import THINK_PENALTIES, DataProfile

THINK_START = "🤔"
THINK_END = "💡"
STOP = "🏁"


class EmojiThinkProfile(DataProfile):
    name = "emoji_think"
    chat_style = "chatml"

    def system_prompt(self) -> str | None:
        return f"Think inside {THINK_START} {THINK_END}, then answer and end with {STOP}."

    def stop_sequences(self) -> list[str]:
        return [STOP, "<|im_end|>"]

    def logit_penalties(self) -> dict[str, float]:
        return dict(THINK_PENALTIES)

    def transform_assistant(self, content: str, reasoning: str) -> str:
        answer = content.strip()
        if reasoning:
            return f"{THINK_START} {reasoning} {THINK_END}\n{answer} {STOP}"
        return f"{answer} {STOP}"
