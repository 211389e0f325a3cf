"""RemoteSkill: a skill served elsewhere over the skill API, behind the Skill protocol.

The skill file names the URL (`generator.url`). The local file's id, name, icon,
colour and description win over the server's, so a served built-in can be
mounted under another id; problems are relabelled to the local id on the way
in and back to the server's on the way out. Calls are synchronous (httpx);
async callers run them in a thread, as they do for built-in skills.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from backend.skill_api.schema import MAX_PER_REQUEST, ProblemList
from skills.base import Grade, LevelOutOfRange, Problem, SkillError, SkillInfo
from skills.spec import SkillSpec


class SkillUnavailable(SkillError):
    """The remote skill cannot be reached or answered nonsense."""


class RemoteSkill:
    """The Skill protocol over HTTP."""

    def __init__(self, spec: SkillSpec, client: httpx.Client | None = None) -> None:
        if spec.generator.url is None:
            raise ValueError(f"skill '{spec.id}' has no generator.url")
        self.spec = spec
        self.url = spec.generator.url.rstrip("/")
        self._client = client or httpx.Client(base_url=self.url, timeout=spec.generator.timeout_s)
        self._info: SkillInfo | None = None
        self._remote_id: str | None = None
        self._eval_cache: dict[int, list[Problem]] = {}
        self._lock = threading.Lock()

    # ----- the Skill protocol ------------------------------------------------------------
    @property
    def info(self) -> SkillInfo:
        with self._lock:
            if self._info is None:
                remote = SkillInfo.model_validate(self._request("GET", "/info"))
                if remote.max_level != self.spec.max_level:
                    raise SkillUnavailable(
                        f"remote skill at {self.url} has {remote.max_level} levels but "
                        f"{self.where} says max_level {self.spec.max_level}; make them agree")
                self._remote_id = remote.id
                s = self.spec
                self._info = remote.model_copy(update={
                    "id": s.id, "name": s.name, "icon": s.icon, "colour": s.colour, "description": s.description.strip(),
                })
            return self._info

    def sample(self, level: int, count: int, seed: int, start: int = 0) -> list[Problem]:
        self._require_level(level)
        out: list[Problem] = []
        while len(out) < count:
            n = min(MAX_PER_REQUEST, count - len(out))
            body = {"level": level, "count": n, "seed": seed, "start": start + len(out)}
            out.extend(self._problems(self._request("POST", "/sample", json=body)))
        return out

    def eval_set(self, level: int) -> list[Problem]:
        self._require_level(level)
        if level not in self._eval_cache:
            self._eval_cache[level] = self._problems(self._request("GET", f"/eval_set/{level}"))
        return list(self._eval_cache[level])

    def grade(self, problem: Problem, answer: str) -> Grade:
        self.info  # noqa: B018 (learn the remote id)
        body = {"problem": self._to_remote(problem).model_dump(mode="json"), "answer": answer}
        return Grade.model_validate(self._request("POST", "/grade", json=body))

    # ----- plumbing ------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return str(self.spec.source or f"{self.spec.id}.yaml")

    def close(self) -> None:
        self._client.close()

    def _require_level(self, level: int) -> None:
        if not isinstance(level, int) or not 1 <= level <= self.spec.max_level:
            raise LevelOutOfRange(self.spec.id, level, self.spec.max_level)

    def _problems(self, payload: Any) -> list[Problem]:
        self.info  # noqa: B018
        return [self._to_local(p) for p in ProblemList.model_validate(payload).problems]

    def _to_local(self, problem: Problem) -> Problem:
        return self._relabel(problem, self._remote_id or problem.skill, self.spec.id)

    def _to_remote(self, problem: Problem) -> Problem:
        return self._relabel(problem, self.spec.id, self._remote_id or self.spec.id)

    @staticmethod
    def _relabel(problem: Problem, old: str, new: str) -> Problem:
        if old == new or problem.skill != old:
            return problem
        pid = new + problem.id[len(old):] if problem.id.startswith(old + "/") else problem.id
        record = problem.record
        if record is not None and isinstance(record.get("id"), str) and record["id"].startswith(old + "/"):
            record = {**record, "id": new + record["id"][len(old):]}
        return problem.model_copy(update={"skill": new, "id": pid, "record": record})

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SkillUnavailable(f"remote skill '{self.spec.id}' at {self.url} is unreachable ({exc}); "
                                   f"start it (realm skill serve ...) or fix generator.url in {self.where}") from exc
        if response.status_code == 400:
            raise SkillError(_detail(response))
        if response.status_code != 200:
            raise SkillUnavailable(f"remote skill '{self.spec.id}' at {self.url}{path} answered "
                                   f"HTTP {response.status_code}: {_detail(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise SkillUnavailable(f"remote skill '{self.spec.id}' at {self.url}{path} sent no JSON") from exc


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:200]
