"""The Guild's read model: each skill's levels, accuracy history and curriculum plan."""

from __future__ import annotations

import json
from dataclasses import dataclass

from backend.config.model import CurriculumConfig, SkillPlan
from backend.store import Store
from game.data.evals import EvalIndex
from game.data.skills import Catalogue, SkillCard, bare_card


@dataclass(frozen=True)
class SkillRow:
    card: SkillCard
    mastered: int
    training: int
    history: tuple[tuple[int, tuple[float, ...]], ...]  # (level, accuracies oldest first)
    evaluations: int
    enabled: bool
    weight: float
    priority: int
    rusty: tuple[int, ...] = ()  # mastered levels that failed their re-checks (trained again)

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def maxed(self) -> bool:
        return self.card.max_level is not None and self.mastered >= self.card.max_level

    def accuracies(self, level: int) -> tuple[float, ...]:
        for lv, values in self.history:
            if lv == level:
                return values
        return ()


@dataclass(frozen=True)
class GuildData:
    strategy: str
    focus: str | None
    rows: tuple[SkillRow, ...]
    catalogue_error: str | None


async def read_guild(store: Store, evals: EvalIndex, catalogue: Catalogue | None, curriculum: CurriculumConfig,
                     mastered_from_events: dict[str, int],
                     rusty_from_events: dict[str, tuple[int, ...]] | None = None) -> GuildData:
    await evals.update(store)
    states = await store.skills.all()
    cards = dict(catalogue.cards) if catalogue else {}
    ids = set(cards) | set(states) | evals.skills() | set(curriculum.skills) | set(mastered_from_events)
    rows = []
    for sid in sorted(ids):
        card = cards.get(sid) or bare_card(sid)
        state = states.get(sid)
        mastered = int(state["mastered_level"]) if state else int(mastered_from_events.get(sid, 0))
        training = int(state["training_level"]) if state else mastered + 1
        if card.max_level is not None:
            training = min(training, card.max_level)
        plan = curriculum.skills.get(sid) or SkillPlan()
        rows.append(SkillRow(
            card=card, mastered=mastered, training=training, history=tuple(evals.history(sid).items()),
            evaluations=evals.count(sid), enabled=plan.enabled, weight=plan.weight, priority=plan.priority,
            rusty=tuple((rusty_from_events or {}).get(sid, ())),
        ))
    return GuildData(curriculum.strategy, curriculum.focus, tuple(rows), catalogue.error if catalogue else None)


async def read_samples(store: Store, skill: str, limit: int = 12) -> list[dict]:
    """The newest evaluations of a skill with their samples (newest first)."""
    rows = await store.fetchall(
        "SELECT checkpoint_step, level, correct, total, accuracy, samples FROM evaluations "
        "WHERE skill = ? ORDER BY checkpoint_step DESC, level DESC LIMIT ?",
        (skill, limit),
    )
    out = []
    for r in rows:
        try:
            samples = json.loads(r["samples"] or "[]")
        except ValueError:
            samples = []
        out.append({"step": r["checkpoint_step"], "level": r["level"], "correct": r["correct"], "total": r["total"],
                    "accuracy": r["accuracy"], "samples": samples if isinstance(samples, list) else []})
    return out


def sample_fields(sample: dict) -> tuple[str, str, str, bool | None]:
    """(problem, DIO's answer, golden answer, correct) from one stored sample, whatever
    the exact key names the evaluator used."""
    def pick(*keys: str) -> str:
        for k in keys:
            v = sample.get(k)
            if v is not None:
                return v if isinstance(v, str) else str(v)
        return ""

    problem = pick("problem", "prompt", "question", "input")
    if not problem and isinstance(sample.get("messages"), list):
        users = [m.get("content", "") for m in sample["messages"] if isinstance(m, dict) and m.get("role") == "user"]
        problem = users[-1] if users else ""
    answer = pick("answer", "output", "response", "prediction", "got")
    golden = pick("golden", "expected", "target", "reference", "gold")
    correct = sample.get("correct")
    return problem, answer, golden, (bool(correct) if correct is not None else None)
