"""Put the database right with the quest files on disk, at every daemon start. Nothing is
moved or lost.

- After a crash between a file move and its database update: find each quest's file by its
  unique `<id>-` name and record where it is.
- After a database restore (or any database older than the files): a quest file whose id the
  database does not know is recorded again, with its state from its folder and its skill from
  its sidecar; and new ids start above every id on disk, so no id is ever reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from contracts.quest_meta import QuestMeta, meta_path_for

from backend.daemon.context import DaemonContext
from backend.event_kinds import EventKind
from backend.slot import QUEST_STATES


def find_by_name(root: Path, folders: list[Path], name: str) -> tuple[str, Path] | None:
    for state, folder in zip(QUEST_STATES, folders):
        candidate = folder / name
        if candidate.exists() or candidate.is_symlink():
            return state, candidate
    return None


ID_NAME = re.compile(r"^(\d{5,})-(.+)$")
DERIVED = re.compile(r"\.(meta\.json|quarantine\.jsonl|train\.jsonl|heldout\.jsonl)$")


@dataclass(frozen=True)
class QuestFile:
    quest_id: int
    state: str
    path: Path
    name: str  # the name after the id


def quest_files(folders: list[Path]) -> list[QuestFile]:
    """The quest files on disk (not their sidecars), by the `<id>-` names the daemon gives them."""
    found = []
    for state, folder in zip(QUEST_STATES, folders):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            hit = ID_NAME.match(path.name)
            if hit and not DERIVED.search(path.name) and not path.name.startswith("."):
                found.append(QuestFile(int(hit.group(1)), state, path, hit.group(2)))
    return sorted(found, key=lambda f: (f.quest_id, f.state))


def sidecar_fields(path: Path) -> dict:
    try:
        meta = QuestMeta.model_validate_json(meta_path_for(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in {"skill": meta.skill, "level": meta.level, "generator_id": meta.generator_id,
                              "generator_version": meta.generator_version}.items() if v is not None}


async def recover_lost_quests(ctx: DaemonContext, files: list[QuestFile], known: set[int]) -> list[int]:
    """Record the quest files whose ids the database lost. A quest that was being validated or
    trained goes back to validation; the others keep the state of their folder."""
    recovered = []
    for f in files:
        if f.quest_id in known:
            continue
        state = "validating" if f.state in ("validating", "processing", "queued") else f.state
        fields = sidecar_fields(f.path)
        await ctx.store.quests.create_with_id(
            f.quest_id, f.name, str(f.path.relative_to(ctx.slot.root)), state=state, source="recovered",
            fail_reason="recorded again from its file after the database was restored" if state == "failed" else None,
            **fields)
        known.add(f.quest_id)
        recovered.append(f.quest_id)
        if state == "completed":  # its reward was lost with the events: given again, once
            await ctx.event(EventKind.QUEST_COMPLETED, {
                "quest_id": f.quest_id, "name": f.name, "skill": fields.get("skill"), "level": fields.get("level"),
                "source": "recovered", "steps": None, "final_step": None, "recovered": True},
                dedupe_key=f"quest_completed:{f.quest_id}")
    return recovered


async def reconcile_quest_files(ctx: DaemonContext) -> int:
    slot, store = ctx.slot, ctx.store
    folders = [slot.quest_state_dir(s) for s in QUEST_STATES]
    files = quest_files(folders)
    await store.quests.raise_id_floor(max((f.quest_id for f in files), default=0))
    fixed = 0
    quests = await store.quests.list()
    for quest in quests:
        if not quest.path:
            # Interrupted between creating the row and taking the file: the file is
            # still in the inbox and will be taken again as a new quest.
            await store.quests.update(quest.id, state="failed", fail_reason="intake interrupted; the file stayed in the inbox and is taken again")
            fixed += 1
            continue
        current = slot.root / quest.path
        if current.exists() or current.is_symlink():
            continue
        hit = find_by_name(slot.root, folders, current.name)
        if hit:
            state, found = hit
            await store.quests.update(quest.id, path=str(found.relative_to(slot.root)), state=state)
            fixed += 1
    recovered = await recover_lost_quests(ctx, files, {q.id for q in quests})
    if recovered:
        await ctx.event(EventKind.WARNING, {"source": "quests", "code": "quests_recovered", "message":
            f"{len(recovered)} quest file(s) the save did not list were recorded again (#"
            + ", #".join(map(str, recovered[:8])) + (" ..." if len(recovered) > 8 else "") + ")"})
    return fixed + len(recovered)
