"""The game state in SQLite (see db.Store)."""

from backend.store.db import Store
from backend.store.events import Event
from backend.store.migrations import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Event", "Store"]
