"""The `<file>.meta.json` lineage sidecar of a quest file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QuestSchema = Literal["chat_sft_v1", "completion_v1", "syllo_v1"]
QUEST_SCHEMAS: tuple[str, ...] = ("chat_sft_v1", "completion_v1", "syllo_v1")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ReplayPart(BaseModel):
    """Problems of another skill mixed into a generated quest (so DIO keeps that skill)."""

    model_config = ConfigDict(extra="allow")

    skill: str
    level: int = Field(ge=0)
    count: int = Field(ge=0)
    generator_id: str | None = None
    generator_version: str | None = None


class QuestMeta(BaseModel):
    """Where a quest file came from. Every field is optional except for generated files,
    which name their generator; hand-made files may carry just a `schema`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    quest_schema: QuestSchema | None = Field(None, alias="schema", description="declared schema of every line")
    generator_id: str | None = Field(None, description="e.g. skills.bin, sparring")
    generator_version: str | None = None
    skill: str | None = None
    level: int | None = Field(None, ge=0)
    seed: int | None = None
    count: int | None = Field(None, ge=0)
    created: str = Field(default_factory=utc_now_iso, description="ISO-8601 UTC time of creation")
    checkpoint_step: int | None = Field(None, description="sparring: the checkpoint whose mistakes made this quest")
    replay: list[ReplayPart] | None = Field(None, description="other skills' problems mixed in (count includes them)")

    def dump(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=2) + "\n"


def meta_path_for(quest_file: Path) -> Path:
    """quests/x.jsonl -> quests/x.jsonl.meta.json"""
    return quest_file.with_name(quest_file.name + ".meta.json")
