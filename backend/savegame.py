"""Creating a save slot: folders, a commented realm.yaml, the database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import check_config, render_config
from backend.config.edit import write_atomic
from backend.errors import ConfigError
from backend.event_kinds import EventKind
from backend.slot import SaveSlot
from backend.store import Store


@dataclass
class InitReport:
    slot: SaveSlot
    created_dirs: list[Path] = field(default_factory=list)
    wrote_config: bool = False
    created_db: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created_dirs or self.wrote_config or self.created_db)


async def init_save(slot: SaveSlot) -> InitReport:
    """Create what is missing; running it again changes nothing."""
    report = InitReport(slot)
    report.created_dirs = slot.ensure_layout()
    if not slot.config_path.exists():
        write_atomic(slot.config_path, render_config())
        report.wrote_config = True
    config, problems = check_config(slot.config_path)
    if config is None:
        raise ConfigError(
            "the existing realm.yaml has problems:\n" + "\n".join(p.render() for p in problems),
            where=str(slot.config_path), fix="fix them (realm config check), then run realm init again",
        )
    report.created_db = not slot.db_path.exists()
    async with await Store.open(slot.db_path, create=True) as store:
        await store.meta.set_default("created_at", time.time())
        await store.events.append(
            EventKind.SAVE_CREATED, {"hero": config.hero.name, "base_model": config.hero.base_model},
            dedupe_key="save_created",
        )
    return report
