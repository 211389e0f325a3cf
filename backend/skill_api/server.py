"""Serve one skill over the skill API (FastAPI + uvicorn). Used by `realm skill serve`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, HTTPException

from backend.skill_api.schema import GradeRequest, Health, ProblemList, SampleRequest
from skills.base import Grade, Skill, SkillError, SkillInfo

T = TypeVar("T")

DEFAULT_HOST = "127.0.0.1"


def create_app(skill: Skill) -> FastAPI:
    """A FastAPI app serving `skill` (routes: see backend.skill_api)."""
    info = skill.info
    app = FastAPI(title=f"Realm skill: {info.name}", version=info.generator_version)

    @app.get("/health", response_model=Health)
    def health() -> Health:
        return Health(ok=True, skill=info.id)

    @app.get("/info", response_model=SkillInfo)
    def get_info() -> SkillInfo:
        return skill.info

    @app.post("/sample", response_model=ProblemList)
    def sample(req: SampleRequest) -> ProblemList:
        return ProblemList(problems=_call(lambda: skill.sample(req.level, req.count, req.seed, req.start)))

    @app.get("/eval_set/{level}", response_model=ProblemList)
    def eval_set(level: int) -> ProblemList:
        return ProblemList(problems=_call(lambda: skill.eval_set(level)))

    @app.post("/grade", response_model=Grade)
    def grade(req: GradeRequest) -> Grade:
        if req.problem.skill != info.id:
            raise HTTPException(400, f"this server grades skill '{info.id}', not '{req.problem.skill}'")
        return _call(lambda: skill.grade(req.problem, req.answer))

    return app


def _call(fn: Callable[[], T]) -> T:
    """Run a skill call; a SkillError (bad level, bad count) becomes HTTP 400."""
    try:
        return fn()
    except SkillError as exc:
        raise HTTPException(400, str(exc)) from exc


def serve(skill: Skill, host: str = DEFAULT_HOST, port: int = 8080, log_level: str = "info") -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    uvicorn.run(create_app(skill), host=host, port=port, log_level=log_level)


__all__ = ["DEFAULT_HOST", "create_app", "serve"]
