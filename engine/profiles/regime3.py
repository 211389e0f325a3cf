"""Profile `regime3`: a symbolic reasoning format.

Each reasoning line becomes a step `§ {line}`, the answer follows `∴ `, and `∎` ends
the turn:

    § first step
    § second step
    ∴ answer ∎

Generation stops at ∎ and `<think>` is suppressed. Rendered as clean ChatML.
"""

from __future__ import annotations

from engine.profiles.base import THINK_PENALTIES, DataProfile

STEP = "§"
THEREFORE = "∴"
END = "∎"


class Regime3Profile(DataProfile):
    name = "regime3"
    chat_style = "chatml"

    def system_prompt(self) -> str | None:
        return f"Reason in steps marked {STEP}, give the answer after {THEREFORE} and end with {END}."

    def stop_sequences(self) -> list[str]:
        return [END, "<|im_end|>"]

    def logit_penalties(self) -> dict[str, float]:
        return dict(THINK_PENALTIES)

    def transform_assistant(self, content: str, reasoning: str) -> str:
        steps = [line.strip() for line in reasoning.splitlines() if line.strip()]
        lines = [f"{STEP} {s}" for s in steps]
        lines.append(f"{THEREFORE} {content.strip()} {END}")
        return "\n".join(lines)
