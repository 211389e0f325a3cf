"""Request and response bodies of the skill API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from skills.base import Problem

MAX_PER_REQUEST = 10_000


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int
    count: int = Field(ge=0, le=MAX_PER_REQUEST)
    seed: int = Field(ge=0)
    start: int = Field(0, ge=0)


class GradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: Problem
    answer: str


class ProblemList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problems: list[Problem]


class Health(BaseModel):
    ok: bool
    skill: str
