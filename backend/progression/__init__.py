"""Progression rules: pure functions of the event log."""

from backend.progression.away import AwaySummary, away_summary
from backend.progression.stats import HeroStats, apply_event, replay

__all__ = ["AwaySummary", "HeroStats", "apply_event", "away_summary", "replay"]
