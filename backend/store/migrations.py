"""Ordered schema migrations. `PRAGMA user_version` is the number of the last one
applied; opening a database applies the missing ones in order, in place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


V1_CORE = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Append-only event log: game state is derived from it.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         REAL NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT UNIQUE
);
CREATE INDEX events_kind ON events(kind, id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TABLE quests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL,
    path              TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN
                        ('inbox','validating','queued','processing','completed','failed','deleted')),
    priority          TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('high','normal','low')),
    schema            TEXT,
    skill             TEXT,
    level             INTEGER,
    examples          INTEGER,
    source            TEXT NOT NULL DEFAULT 'inbox',
    generator_id      TEXT,
    generator_version TEXT,
    sha256            TEXT,
    size_bytes        INTEGER,
    validation        TEXT,
    fail_reason       TEXT,
    steps_total       INTEGER,
    steps_done        INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        REAL NOT NULL,
    queued_at         REAL,
    started_at        REAL,
    finished_at       REAL,
    updated_at        REAL NOT NULL
);
CREATE INDEX quests_queue ON quests(state, priority, queued_at, id);

CREATE TABLE step_metrics (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    quest_id    INTEGER REFERENCES quests(id),
    ts          REAL NOT NULL,
    step        INTEGER NOT NULL,
    job_step    INTEGER,
    total_steps INTEGER,
    loss        REAL,
    lr          REAL,
    grad_norm   REAL,
    tokens_per_s REAL,
    supervised_tokens_per_s REAL,
    padding_fraction REAL,
    mfu         REAL,
    peak_memory_mb REAL,
    eta_s       REAL
);
CREATE INDEX step_metrics_quest ON step_metrics(quest_id, id);

CREATE TABLE checkpoints (
    step           INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    path           TEXT NOT NULL,
    created_at     REAL NOT NULL,
    quest_id       INTEGER REFERENCES quests(id),
    skill          TEXT,
    level          INTEGER,
    train_loss     REAL,
    val_loss       REAL,
    profile        TEXT,
    weights_sha256 TEXT,
    size_bytes     INTEGER,
    ledger         TEXT NOT NULL DEFAULT '{}',
    pinned         INTEGER NOT NULL DEFAULT 0,
    deleted_at     REAL
);

CREATE TABLE evaluations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    checkpoint_step INTEGER NOT NULL REFERENCES checkpoints(step),
    skill           TEXT NOT NULL,
    level           INTEGER NOT NULL,
    correct         INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    accuracy        REAL NOT NULL,
    samples         TEXT NOT NULL DEFAULT '[]',
    created_at      REAL NOT NULL,
    UNIQUE (checkpoint_step, skill, level)
);

CREATE TABLE skill_state (
    skill          TEXT PRIMARY KEY,
    mastered_level INTEGER NOT NULL DEFAULT 0,
    training_level INTEGER NOT NULL DEFAULT 1,
    updated_at     REAL NOT NULL
);

CREATE TABLE achievements (
    id          TEXT PRIMARY KEY,
    unlocked_at REAL NOT NULL,
    event_id    INTEGER REFERENCES events(id)
);

CREATE TABLE lineage_stats (
    kind        TEXT NOT NULL CHECK (kind IN ('generator','validator')),
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    validations INTEGER NOT NULL DEFAULT 0,
    passed      INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    lines_total INTEGER NOT NULL DEFAULT 0,
    lines_bad   INTEGER NOT NULL DEFAULT 0,
    reasons     TEXT NOT NULL DEFAULT '{}',
    offenders   TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (kind, name, version)
);

CREATE TABLE assets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    sha256     TEXT,
    size_bytes INTEGER,
    meta       TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    UNIQUE (kind, name)
);

-- How the TUI and the CLI ask the daemon to act.
CREATE TABLE commands (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         REAL NOT NULL,
    source     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','failed')),
    result     TEXT,
    done_at    REAL
);
CREATE INDEX commands_pending ON commands(status, id);
"""

V2_PROCESSES = """
-- Liveness of the daemon (one row) and of the services it manages.
CREATE TABLE heartbeat (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    started_at REAL NOT NULL,
    beat_at    REAL NOT NULL,
    interval_s REAL NOT NULL,
    state      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE services (
    name       TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    url        TEXT,
    checked_at REAL NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);

-- Background tasks of the task master.
CREATE TABLE tasks (
    name        TEXT PRIMARY KEY,
    priority    INTEGER NOT NULL,
    cooldown_s  REAL NOT NULL,
    last_run_at REAL,
    last_status TEXT,
    last_detail TEXT,
    runs        INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE quests ADD COLUMN validation_level TEXT;
ALTER TABLE checkpoints ADD COLUMN on_node INTEGER NOT NULL DEFAULT 0;
"""

V3_CAMPAIGN = """
-- the campaign's smoothed loss (the engine's moving average, carried on from quest to quest): ATK
ALTER TABLE step_metrics ADD COLUMN loss_ema REAL;
"""

V4_SCORES = """
-- partial credit: the mean of the grader's per-problem score (SY: the share of words right), so a
-- skill that solves no problem whole can still be seen to move
ALTER TABLE evaluations ADD COLUMN score REAL;
UPDATE evaluations SET score = (SELECT AVG(CAST(json_extract(value, '$.score') AS REAL)) FROM json_each(samples))
 WHERE json_valid(samples);
"""

V5_TASKS = """
-- background tasks: the resource each waits for, what makes it due (for the player), its next run
ALTER TABLE tasks ADD COLUMN resource TEXT;
ALTER TABLE tasks ADD COLUMN description TEXT;
ALTER TABLE tasks ADD COLUMN next_run_at REAL;
"""

V6_ZONES = """
-- the catalog: where verified copies of each asset (a checkpoint, ...) live, zone by zone
-- (trainer: the save's own folders; a storage zone: a folder such as a NAS share)
CREATE TABLE asset_copies (
    asset_id    INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    zone        TEXT NOT NULL,
    path        TEXT NOT NULL,
    size_bytes  INTEGER,
    verified_at REAL,
    state       TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'corrupt', 'missing')),
    PRIMARY KEY (asset_id, zone)
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core game state: events, quests, metrics, checkpoints, evaluations, commands", V1_CORE),
    Migration(2, "process liveness, services, background tasks", V2_PROCESSES),
    Migration(3, "the campaign's smoothed loss in step metrics", V3_CAMPAIGN),
    Migration(4, "partial-credit scores of evaluations", V4_SCORES),
    Migration(5, "background tasks: resource, description, next run", V5_TASKS),
    Migration(6, "the catalog's copies of assets per zone", V6_ZONES),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
