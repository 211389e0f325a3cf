"""Kinds of events in the game's append-only log, and their payload keys.

Progression (backend/progression) folds these into the hero's stats; the TUI
shows them in the event log with an icon each.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    SAVE_CREATED = "save_created"            # {hero, base_model}
    HERO_CREATED = "hero_created"            # {path, parameters}
    DAEMON_STARTED = "daemon_started"        # {pid}
    DAEMON_STOPPED = "daemon_stopped"        # {pid, reason}
    QUEST_ADDED = "quest_added"              # {quest_id, name, source}
    QUEST_QUEUED = "quest_queued"            # {quest_id, name, priority, examples}
    QUEST_STARTED = "quest_started"          # {quest_id, name, skill, level, attempt}
    QUEST_COMPLETED = "quest_completed"      # {quest_id, name, skill, level, steps, final_step}  dedupe quest_completed:<id>
    QUEST_FAILED = "quest_failed"            # {quest_id, name, reason}
    QUEST_RETRIED = "quest_retried"          # {quest_id}
    QUEST_DELETED = "quest_deleted"          # {quest_id, name, moved_to, reason?: an auto quest superseded}
    QUEST_PRIORITY = "quest_priority"        # {quest_id, priority}
    BATTLE_PAUSED = "battle_paused"          # {quest_id, reason}
    BATTLE_RESUMED = "battle_resumed"        # {quest_id}
    BATTLE_STOPPED = "battle_stopped"        # {quest_id, step}
    ENGINE_CRASHED = "engine_crashed"        # {quest_id, attempt, error, restart_in_s}
    CHECKPOINT_SAVED = "checkpoint_saved"    # {step, name, train_loss, val_loss, quest_id, skill, level}  dedupe checkpoint:<step>
    CHECKPOINT_DELETED = "checkpoint_deleted"  # {step, name, reason}
    CHECKPOINT_TRANSFER = "checkpoint_transfer"  # {step, name, zone, direction (push|pull), done_bytes, total_bytes, finished, why}
    CHECKPOINT_EVALUATED = "checkpoint_evaluated"  # {step}  dedupe checkpoint_evaluated:<step>
    EVALUATION = "evaluation"                # {step, skill, level, accuracy, correct, total}  dedupe eval:<step>:<skill>:<level>
    SKILL_LEVEL_UP = "skill_level_up"        # {skill, level, mean_accuracy, evaluations}  dedupe skill_level_up:<skill>:<level>
    SKILL_RUSTY = "skill_rusty"              # {skill, level, mean_accuracy, evaluations}  dedupe skill_rusty:<skill>:<level>:<evaluations>
    SKILL_RESTORED = "skill_restored"        # {skill, level, mean_accuracy, evaluations}  dedupe skill_restored:<...>
    QUEST_TESTED = "quest_tested"            # {quest_id, name, step, seen: {exact, total, similarity}, held_out: {...}}
    LEVEL_UP = "level_up"                    # {level}  dedupe level_up:<level>
    CHAMPION = "champion"                    # {step, accuracy, val_loss, promoted_by}
    DEPLOYED = "deployed"                    # {step, sha256, latency_s}
    ACHIEVEMENT = "achievement_unlocked"     # {id, name, icon}  dedupe achievement:<id>
    CONFIG_LOCKED = "config_locked"          # {values}
    CONFIG_FORCED = "config_forced"          # {key, old, new}
    DATABASE_RESTORED = "database_restored"  # {damaged, moved_to, backup, backup_time, lost}
    SPARRING = "sparring"                    # {step, wrong, quest_id}
    SPARRING_DROPPED = "sparring_dropped"    # {quest_id, age_steps}
    DISK_LOW = "disk_low"                    # {free_gb, needed_gb}
    NODE_STATUS = "node_status"              # {status, url, detail}
    PLAN_CHANGED = "plan_changed"            # {strategy?, focus?} or {skill, enabled?, weight?, priority?}
    WARNING = "warning"                      # {source, message}


ICONS: dict[str, str] = {
    EventKind.SAVE_CREATED: "🏰",
    EventKind.HERO_CREATED: "🧙",
    EventKind.DAEMON_STARTED: "🔔",
    EventKind.DAEMON_STOPPED: "💤",
    EventKind.QUEST_ADDED: "📜",
    EventKind.QUEST_QUEUED: "📋",
    EventKind.QUEST_STARTED: "⚔",
    EventKind.QUEST_COMPLETED: "🏆",
    EventKind.QUEST_FAILED: "💀",
    EventKind.QUEST_RETRIED: "🔁",
    EventKind.QUEST_DELETED: "🗑",
    EventKind.QUEST_PRIORITY: "↕",
    EventKind.BATTLE_PAUSED: "⏸",
    EventKind.BATTLE_RESUMED: "▶",
    EventKind.BATTLE_STOPPED: "⏹",
    EventKind.ENGINE_CRASHED: "💥",
    EventKind.CHECKPOINT_SAVED: "💾",
    EventKind.CHECKPOINT_DELETED: "🧹",
    EventKind.CHECKPOINT_TRANSFER: "📦",
    EventKind.CHECKPOINT_EVALUATED: "📝",
    EventKind.EVALUATION: "🎯",
    EventKind.SKILL_LEVEL_UP: "✨",
    EventKind.SKILL_RUSTY: "🦀",
    EventKind.SKILL_RESTORED: "🛠",
    EventKind.QUEST_TESTED: "🧪",
    EventKind.LEVEL_UP: "⬆",
    EventKind.CHAMPION: "👑",
    EventKind.DEPLOYED: "🚀",
    EventKind.ACHIEVEMENT: "🏅",
    EventKind.CONFIG_LOCKED: "🔒",
    EventKind.CONFIG_FORCED: "⚠",
    EventKind.DATABASE_RESTORED: "🩹",
    EventKind.SPARRING: "🥊",
    EventKind.SPARRING_DROPPED: "🍂",
    EventKind.DISK_LOW: "💽",
    EventKind.NODE_STATUS: "🔮",
    EventKind.PLAN_CHANGED: "🧭",
    EventKind.WARNING: "⚠",
}


def icon_for(kind: str) -> str:
    return ICONS.get(kind, "•")
