"""How many examples make a generated quest of about N training tokens.

BIN level 1 examples are about 20 tokens and SY examples ten times that, so a fixed
example count gives quests of very different length; the curriculum alternates quests,
so a fixed count would hand most of the training time to the longer skill. Sizing by
tokens gives every generated quest about the same training time.
"""

from __future__ import annotations

from pathlib import Path

from backend.validation.standard import count_tokens, load_tokenizer, render_chatml
from skills.base import Skill

SAMPLE_PROBLEMS = 64
SAMPLE_SEED = 0
BYTES_PER_TOKEN = 4.0  # without a tokenizer on disk (a hub id not yet fetched): a typical BPE ratio
MIN_EXAMPLES = 50
MAX_EXAMPLES = 1_000_000


def example_texts(skill: Skill, level: int) -> list[str]:
    """A fixed sample of the level's training examples, rendered as ChatML."""
    texts = []
    for problem in skill.sample(level, SAMPLE_PROBLEMS, SAMPLE_SEED):
        turns = [(m.role, m.content) for m in problem.messages] + [("assistant", problem.answer)]
        texts.append(render_chatml(turns))
    return texts


def mean_example_tokens(skill: Skill, level: int, tokenizer_json: Path | None) -> float:
    texts = example_texts(skill, level)
    if tokenizer_json is None:
        return sum(len(t.encode("utf-8")) for t in texts) / BYTES_PER_TOKEN / len(texts)
    return sum(count_tokens(load_tokenizer(tokenizer_json), texts)) / len(texts)


def examples_for_tokens(skill: Skill, level: int, tokens: int, tokenizer_json: Path | None,
                        minimum: int = MIN_EXAMPLES) -> int:
    """Examples of `skill` at `level` that hold about `tokens` training tokens (at least
    `minimum`: a quest is never near-empty; a rehearsal part may be small)."""
    mean = max(mean_example_tokens(skill, level, tokenizer_json), 1.0)
    return int(min(MAX_EXAMPLES, max(minimum, round(tokens / mean))))
