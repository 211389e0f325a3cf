"""The commands the TUI and the CLI write to the command table, with their payloads.

The daemon is the only writer of game state: everything a player asks for is a
command, validated here, carried out by backend/daemon/commands.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.errors import UserFacingError

Priority = Literal["high", "normal", "low"]


class CommandKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP_BATTLE = "stop_battle"
    CHECKPOINT_NOW = "checkpoint_now"
    QUEST_ADD = "quest_add"
    QUEST_GENERATE = "quest_generate"
    QUEST_PRIORITY = "quest_priority"
    QUEST_DELETE = "quest_delete"
    QUEST_RETRY = "quest_retry"
    PROMOTE = "promote"
    CHECKPOINT_DELETE = "checkpoint_delete"
    CHECKPOINT_PIN = "checkpoint_pin"
    CHECKPOINT_EXPORT = "checkpoint_export"
    NODE_LOAD = "node_load"
    NODE_UNLOAD = "node_unload"
    CHECKPOINT_PUSH = "checkpoint_push"
    CHECKPOINT_PULL = "checkpoint_pull"
    VAULT_VERIFY = "vault_verify"
    CURRICULUM_SET = "curriculum_set"
    SKILL_PLAN = "skill_plan"
    CONFIG_FORCED = "config_forced"
    SHUTDOWN = "shutdown"
    TASK_RUN = "task_run"
    SPAR = "spar"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(Payload):
    pass


class QuestAdd(Payload):
    path: str = Field(min_length=1, description="absolute path of the file to move into the save")
    priority: Priority = "normal"


class QuestGenerate(Payload):
    skill: str
    level: int | None = Field(None, ge=1, description="None = the skill's training level")
    count: int = Field(1000, ge=1, le=1_000_000)
    priority: Priority = "normal"
    seed: int | None = None


class QuestRef(Payload):
    quest_id: int = Field(ge=1)


class QuestPriority(QuestRef):
    priority: Priority


class StepRef(Payload):
    step: int = Field(ge=0)


class NodeLoad(Payload):
    """A checkpoint by step, or the hero's base model (the untrained weights: compare with them)."""

    step: int | None = Field(None, ge=0)
    base: bool = False
    node: str | None = Field(None, description="a node of hosts.nodes by name (None: the default node)")

    @model_validator(mode="after")
    def one_model(self) -> "NodeLoad":
        if (self.step is None) == (not self.base):
            raise ValueError("name a checkpoint step or base: true (not both)")
        return self


class NodeStep(StepRef):
    node: str | None = Field(None, description="a node of hosts.nodes by name (None: the default node)")


class CheckpointPin(StepRef):
    pinned: bool = True


class CheckpointExport(StepRef):
    dest: str = Field(min_length=1, description="folder to copy the checkpoint into")
    merge: bool = Field(False, description="a LoRA checkpoint: merge it into its base (a full Hugging Face folder)")


class StepZone(StepRef):
    zone: str = Field(min_length=1, description="a storage zone named in hosts.storage")


class ZoneRef(Payload):
    zone: str | None = Field(None, description="trainer or a storage zone; None = every zone")


class CurriculumSet(Payload):
    strategy: Literal["equal", "focus", "weighted", "catch-up"] | None = None
    focus: str | None = None


class SkillPlanSet(Payload):
    skill: str
    enabled: bool | None = None
    weight: float | None = Field(None, ge=0, le=1000)
    priority: int | None = Field(None, ge=-100, le=100)


class ConfigForced(Payload):
    key: str
    old: Any = None
    new: Any = None


class TaskRun(Payload):
    name: str = Field(min_length=1, description="a background task's name (realm tasks lists them)")


class Spar(Payload):
    step: int | None = Field(None, ge=0, description="the checkpoint; None = the deployed champion, else the newest")
    skill: str | None = Field(None, description="None = the skill that checkpoint trained, else the first enabled")
    level: int | None = Field(None, ge=1, description="None = the skill's training level")
    count: int | None = Field(None, ge=1, le=5000, description="problems; None = sparring.problems")


PAYLOADS: dict[str, type[Payload]] = {
    CommandKind.PAUSE: Empty,
    CommandKind.RESUME: Empty,
    CommandKind.STOP_BATTLE: Empty,
    CommandKind.CHECKPOINT_NOW: Empty,
    CommandKind.QUEST_ADD: QuestAdd,
    CommandKind.QUEST_GENERATE: QuestGenerate,
    CommandKind.QUEST_PRIORITY: QuestPriority,
    CommandKind.QUEST_DELETE: QuestRef,
    CommandKind.QUEST_RETRY: QuestRef,
    CommandKind.PROMOTE: StepRef,
    CommandKind.CHECKPOINT_DELETE: StepRef,
    CommandKind.CHECKPOINT_PIN: CheckpointPin,
    CommandKind.CHECKPOINT_EXPORT: CheckpointExport,
    CommandKind.NODE_LOAD: NodeLoad,
    CommandKind.CHECKPOINT_PUSH: StepZone,
    CommandKind.CHECKPOINT_PULL: StepZone,
    CommandKind.VAULT_VERIFY: ZoneRef,
    CommandKind.NODE_UNLOAD: NodeStep,
    CommandKind.CURRICULUM_SET: CurriculumSet,
    CommandKind.SKILL_PLAN: SkillPlanSet,
    CommandKind.CONFIG_FORCED: ConfigForced,
    CommandKind.SHUTDOWN: Empty,
    CommandKind.TASK_RUN: TaskRun,
    CommandKind.SPAR: Spar,
}


def parse_payload(kind: str, payload: dict[str, Any]) -> Payload:
    """The typed payload of a command, or a UserFacingError naming the problem."""
    model = PAYLOADS.get(kind)
    if model is None:
        raise UserFacingError(f"unknown command {kind!r}", fix=f"use one of: {', '.join(sorted(PAYLOADS))}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or kind}: {e['msg']}" for e in exc.errors())
        raise UserFacingError(f"bad {kind} command: {problems}") from exc
