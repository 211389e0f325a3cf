"""After a crash between a file move and its database update, find each quest's file
by its unique `<id>-` name and put the database right. Nothing is moved or lost."""

from __future__ import annotations

from pathlib import Path

from backend.daemon.context import DaemonContext
from backend.slot import QUEST_STATES


def find_by_name(root: Path, folders: list[Path], name: str) -> tuple[str, Path] | None:
    for state, folder in zip(QUEST_STATES, folders):
        candidate = folder / name
        if candidate.exists() or candidate.is_symlink():
            return state, candidate
    return None


async def reconcile_quest_files(ctx: DaemonContext) -> int:
    slot, store = ctx.slot, ctx.store
    folders = [slot.quest_state_dir(s) for s in QUEST_STATES]
    fixed = 0
    for quest in await store.quests.list():
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
    return fixed
