"""The one interface every skill implements, and the data it speaks.

A skill turns (level, seed, index) into a Problem, keeps a fixed evaluation set
per level, and grades answers. Built-in skills (skills.bin, skills.syllo) and
remote skills (backend.skill_api.client.RemoteSkill) implement the same
`Skill` protocol, so the rest of the system cannot tell them apart.

Pure pydantic and the standard library: no torch, no network, no I/O.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    """One chat turn, as in chat_sft_v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class Problem(BaseModel):
    """One problem DIO is asked, with its exact golden answer.

    `messages` is the prompt (system/user turns, no assistant turn); training
    appends one assistant turn holding `answer` (see `to_chat`). `record` is the
    skill's structured form where it has one (SY: a syllo_v1 record). `note` is
    a human gloss for the CLI and the TUI (BIN: the sum in decimal); it is never
    shown to DIO.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: str = Field(description="skill id, e.g. bin")
    level: int = Field(ge=1)
    id: str = Field(description="stable id: skill/L<level>/<seed space>/<index>")
    messages: list[ChatMessage] = Field(min_length=1)
    answer: str = Field(description="the exact golden answer")
    record: dict[str, Any] | None = Field(None, description="structured form (SY: syllo_v1)")
    note: str | None = Field(None, description="human gloss, never shown to DIO")

    @property
    def prompt_text(self) -> str:
        """The last user turn: what the problem asks (the key for overlap checks)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return self.messages[-1].content

    def to_chat(self) -> dict[str, Any]:
        """The chat_sft_v1 record: prompt turns plus one assistant turn with the answer."""
        turns = [{"role": m.role, "content": m.content} for m in self.messages]
        turns.append({"role": "assistant", "content": self.answer})
        return {"messages": turns}


class Grade(BaseModel):
    """The verdict on one answer. Evaluation accuracy is the mean of `correct`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    correct: bool = Field(description="exact credit")
    score: float = Field(ge=0.0, le=1.0, description="partial credit (SY: share of words right)")
    detail: str = Field("", description="a short human explanation")


class LevelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1)
    summary: str = Field(description="one line a player can read, e.g. 'add, operands 1-10'")
    params: dict[str, Any] = Field(default_factory=dict)


class SkillInfo(BaseModel):
    """What a skill is, for lists, the TUI and quest lineage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    icon: str
    colour: str
    description: str
    max_level: int = Field(ge=1)
    generator_id: str
    generator_version: str
    eval_per_level: int = Field(ge=1)
    formats: list[str] = Field(description="quest schemas the skill can write, chat_sft_v1 first")
    levels: list[LevelInfo] = Field(default_factory=list)

    def level_summary(self, level: int) -> str:
        for info in self.levels:
            if info.level == level:
                return info.summary
        return ""


@runtime_checkable
class Skill(Protocol):
    """The skill interface used by everyone (CLI, questgen, daemon, evaluation).

    - `info`: the SkillInfo.
    - `sample(level, count, seed, start=0)`: training problems number
      start..start+count-1 of the stream (level, seed); problem i depends only
      on (level, seed, i), never on count. Never returns a held-out evaluation problem.
    - `eval_set(level)`: the fixed evaluation problems of a level.
    - `grade(problem, answer)`: the Grade of DIO's answer to the problem.

    Levels run 1..info.max_level; anything else raises LevelOutOfRange.
    """

    @property
    def info(self) -> SkillInfo: ...

    def sample(self, level: int, count: int, seed: int, start: int = 0) -> list[Problem]: ...

    def eval_set(self, level: int) -> list[Problem]: ...

    def grade(self, problem: Problem, answer: str) -> Grade: ...


class SkillError(ValueError):
    """A request a skill cannot serve (bad level, bad count, wrong skill)."""


class LevelOutOfRange(SkillError):
    def __init__(self, skill: str, level: int, max_level: int) -> None:
        self.skill, self.level, self.max_level = skill, level, max_level
        super().__init__(f"level {level} is out of range for skill '{skill}' (valid levels: 1-{max_level})")
