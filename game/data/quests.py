"""The Quest board's read model (one projection query; validation reports stay
in the database until a quest's details are opened)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.store import Store
from backend.store.quests import PRIORITY_ORDER, Quest

ACTIVE_STATES = ("processing", "queued", "validating", "inbox")
DONE_SHOWN = 100  # most recent completed / failed quests listed


@dataclass(frozen=True)
class QuestRow:
    id: int
    state: str
    priority: str
    name: str
    skill: str | None
    level: int | None
    examples: int | None
    steps_done: int
    steps_total: int | None
    validation: str
    fail_reason: str | None

    @property
    def skill_text(self) -> str:
        if not self.skill:
            return "—"
        return f"{self.skill.upper()} L{self.level}" if self.level is not None else self.skill.upper()


def validation_summary(verdict: str | None, bad: int | None, file_error: str | None) -> str:
    if verdict is None and bad is None and file_error is None:
        return "—"
    verdict = verdict or "?"
    if file_error:
        return f"{verdict}: {file_error}"
    if bad:
        return f"{verdict}: {bad} bad line{'s' if bad != 1 else ''}"
    return verdict


COLUMNS = (
    "SELECT q.id, q.state, q.priority, q.name, q.skill, q.level, q.examples, q.steps_done, q.steps_total, "
    "q.fail_reason, json_extract(q.validation, '$.verdict') AS verdict, "
    "json_extract(q.validation, '$.counts.bad') AS bad, "
    "json_extract(q.validation, '$.file_errors[0].code') AS file_error, "
)
LIVE = (
    "(SELECT m.job_step FROM step_metrics m WHERE m.quest_id = q.id ORDER BY m.id DESC LIMIT 1) AS live_step, "
    "(SELECT m.total_steps FROM step_metrics m WHERE m.quest_id = q.id ORDER BY m.id DESC LIMIT 1) AS live_total "
)
NOT_LIVE = "NULL AS live_step, NULL AS live_total "


def row_from(r: Any) -> QuestRow:
    done, total = int(r["steps_done"] or 0), r["steps_total"]
    if r["state"] == "processing" and r["live_total"]:
        done, total = int(r["live_step"] or 0), int(r["live_total"])
    return QuestRow(
        id=r["id"], state=r["state"], priority=r["priority"], name=r["name"], skill=r["skill"], level=r["level"],
        examples=r["examples"], steps_done=done, steps_total=total,
        validation=validation_summary(r["verdict"], r["bad"], r["file_error"]), fail_reason=r["fail_reason"],
    )


async def read_quests(store: Store) -> tuple[QuestRow, ...]:
    """Active quests (battle first, then the queue in the order it is served), then the
    most recent finished ones."""
    active = await store.fetchall(
        COLUMNS + LIVE + f"FROM quests q WHERE q.state IN ({','.join('?' * len(ACTIVE_STATES))}) "
        "ORDER BY CASE q.state WHEN 'processing' THEN 0 WHEN 'queued' THEN 1 WHEN 'validating' THEN 2 ELSE 3 END, "
        f"{PRIORITY_ORDER.replace('priority', 'q.priority')}, COALESCE(q.queued_at, q.created_at), q.id",
        ACTIVE_STATES,
    )
    done = await store.fetchall(
        COLUMNS + NOT_LIVE + "FROM quests q WHERE q.state IN ('completed', 'failed') "
        "ORDER BY COALESCE(q.finished_at, q.updated_at) DESC, q.id DESC LIMIT ?",
        (DONE_SHOWN,),
    )
    return tuple(row_from(r) for r in [*active, *done])


async def read_quest(store: Store, quest_id: int) -> Quest | None:
    return await store.quests.get(quest_id)


async def read_quest_test(store: Store, quest_id: int) -> dict | None:
    """The test of a player's quest by the checkpoint that trained it (quest_tested), if done."""
    row = await store.fetchone("SELECT payload FROM events WHERE dedupe_key = ?", (f"quest_tested:{quest_id}",))
    return json.loads(row["payload"]) if row else None
