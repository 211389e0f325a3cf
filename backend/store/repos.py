"""Attach every repository to a Store as an attribute."""

from __future__ import annotations

from typing import Any

from backend.store.catalog import Catalog
from backend.store.checkpoints import Checkpoints
from backend.store.commands import Commands
from backend.store.evaluations import Evaluations
from backend.store.events import EventLog
from backend.store.heartbeat import Heartbeats
from backend.store.lineage import Lineage
from backend.store.meta import Meta
from backend.store.metrics import Metrics
from backend.store.quests import Quests
from backend.store.services import Services
from backend.store.small_tables import Achievements, Assets, SkillStates, Tasks


def attach_repositories(store: Any) -> None:
    store.events = EventLog(store)
    store.commands = Commands(store)
    store.meta = Meta(store)
    store.heartbeat = Heartbeats(store)
    store.services = Services(store)
    store.quests = Quests(store)
    store.metrics = Metrics(store)
    store.checkpoints = Checkpoints(store)
    store.evaluations = Evaluations(store)
    store.skills = SkillStates(store)
    store.achievements = Achievements(store)
    store.assets = Assets(store)
    store.catalog = Catalog(store)
    store.tasks = Tasks(store)
    store.lineage = Lineage(store)
