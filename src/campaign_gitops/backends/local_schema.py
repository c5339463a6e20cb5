"""The local platform's SQLite file: its tables, and the format of the file (PRAGMA
user_version), upgraded when an older file is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from campaign_gitops.sqlite_util import DatabaseUnusable, immediate, shown

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    pk INTEGER PRIMARY KEY,
    key TEXT NOT NULL,  -- unique among campaigns that are not stopped (a replace reuses it)
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    type TEXT NOT NULL,
    delivery TEXT NOT NULL,
    spec TEXT NOT NULL,
    schedule TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    approval TEXT NOT NULL DEFAULT 'none',
    approval_at TEXT,
    stopped_at TEXT,
    archived_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS campaigns_channel ON campaigns(channel);
CREATE INDEX IF NOT EXISTS campaigns_key ON campaigns(key);
CREATE TABLE IF NOT EXISTS labels (
    name TEXT PRIMARY KEY,
    description TEXT
);
CREATE TABLE IF NOT EXISTS campaign_labels (
    campaign_pk INTEGER NOT NULL REFERENCES campaigns(pk) ON DELETE CASCADE,
    label TEXT NOT NULL REFERENCES labels(name) ON UPDATE CASCADE ON DELETE RESTRICT,
    PRIMARY KEY (campaign_pk, label)
);
CREATE INDEX IF NOT EXISTS campaign_labels_label ON campaign_labels(label);
CREATE TABLE IF NOT EXISTS saved_segments (
    name TEXT PRIMARY KEY,
    segment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    campaign_pk INTEGER NOT NULL REFERENCES campaigns(pk) ON DELETE CASCADE,
    run_at TEXT NOT NULL,
    qualified INTEGER NOT NULL,
    held_out INTEGER NOT NULL,
    capped INTEGER NOT NULL,
    dnd_delayed INTEGER NOT NULL,
    dnd_discarded INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    viewed INTEGER NOT NULL,
    clicked INTEGER NOT NULL,
    converted INTEGER NOT NULL,
    skipped TEXT,
    limited INTEGER NOT NULL DEFAULT 0,  -- users a global limit skipped
    PRIMARY KEY (campaign_pk, run_at)
);
CREATE TABLE IF NOT EXISTS notification_sent (
    user_idx INTEGER NOT NULL,
    campaign_pk INTEGER NOT NULL,
    at TEXT NOT NULL,
    labels TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_sent_user ON notification_sent(user_idx);
CREATE TABLE IF NOT EXISTS conversions (
    campaign_pk INTEGER NOT NULL REFERENCES campaigns(pk) ON DELETE CASCADE,
    run_at TEXT NOT NULL,
    user_idx INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversions_campaign ON conversions(campaign_pk, run_at);
"""
# PRAGMA user_version of the file. 1: conversions with their times, run times in UTC; the runs
# of an older file (derived data: the facts and the profile store give them again) are dropped
# and recorded again, lazily, as reads reach their times.
FORMAT = 1


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables, upgrade a file of an older format, refuse one of a newer format."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > FORMAT:
        db.close()
        raise DatabaseUnusable(
            f"the local platform {shown(path)} was written by a newer campaign-gitops "
            f"(format {version}; this version reads up to {FORMAT}): upgrade "
            "campaign-gitops, or point `platform` in the config at another file"
        )
    with immediate(db):
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        if "limited" not in {r[1] for r in db.execute("PRAGMA table_info(runs)")}:
            db.execute("ALTER TABLE runs ADD COLUMN limited INTEGER NOT NULL DEFAULT 0")
        if db.execute("PRAGMA user_version").fetchone()[0] < FORMAT:
            db.execute("DELETE FROM runs")  # recorded again under the new format
            db.execute("DELETE FROM notification_sent")
            db.execute(f"PRAGMA user_version = {FORMAT}")
