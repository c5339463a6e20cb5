"""The state store's schema history. Version 0 is the first release's tables; each migration
moves one version up and is never edited once released (stores in the field were made by it).
A fresh store replays every migration in the same transaction as its creation, so a new store
and a migrated one cannot differ. `SERIAL_TYPE` becomes the dialect's auto-increment key."""

from __future__ import annotations

from dataclasses import dataclass

from campaign_gitops.errors import FatalError

# As the first release created them (no `author`); stores made before schema_version existed
# are told apart by their columns: without `author` version 0, with it version 1.
BASE = (
    """CREATE TABLE managed (
    id TEXT PRIMARY KEY, platform_id TEXT NOT NULL, spec TEXT NOT NULL, applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL, commit_sha TEXT, pull_request INTEGER, history TEXT NOT NULL
)""",
    "CREATE TABLE managed_labels (name TEXT PRIMARY KEY, description TEXT)",
    """CREATE TABLE applies (
    apply_id TEXT PRIMARY KEY, started BIGINT NOT NULL, finished INTEGER NOT NULL
)""",
    """CREATE TABLE journal (
    seq SERIAL_TYPE, apply_id TEXT NOT NULL, step INTEGER NOT NULL, change TEXT NOT NULL,
    status TEXT NOT NULL, detail TEXT NOT NULL, platform_id TEXT
)""",
    """CREATE TABLE lock (
    one INTEGER PRIMARY KEY CHECK (one = 1), lock_id TEXT NOT NULL, holder TEXT NOT NULL,
    host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL, session INTEGER
)""",
)


@dataclass(frozen=True)
class Migration:
    version: int  # the version the store is at after it
    why: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(1, "the commit's author", ("ALTER TABLE managed ADD COLUMN author TEXT",)),
    Migration(
        2,
        "the apply cursor on main, the commits it walked, pull-request attribution",
        (
            """CREATE TABLE apply_cursor (
    one INTEGER PRIMARY KEY CHECK (one = 1), commit_sha TEXT NOT NULL, set_at TEXT NOT NULL,
    set_by TEXT NOT NULL, note TEXT NOT NULL
)""",
            # seq orders the log: the times have one-second resolution and hosts' clocks differ
            """CREATE TABLE applied_commits (
    commit_sha TEXT PRIMARY KEY, pull_request INTEGER, outcome TEXT NOT NULL,
    recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, detail TEXT NOT NULL,
    seq BIGINT NOT NULL
)""",
            "CREATE INDEX applied_commits_seq ON applied_commits (seq)",
            "ALTER TABLE managed ADD COLUMN merged_by TEXT",
            "ALTER TABLE managed ADD COLUMN approvers TEXT",
        ),
    ),
    Migration(
        3,
        "acknowledgements of manual changes done in the dashboard (`campaign-gitops ack`)",
        (
            """CREATE TABLE acks (
    seq SERIAL_TYPE, campaign_id TEXT NOT NULL, changes TEXT NOT NULL, platform_id TEXT NOT NULL,
    spec TEXT NOT NULL, checksum TEXT NOT NULL, file_checksum TEXT, acked_at TEXT NOT NULL,
    acked_by TEXT NOT NULL, note TEXT NOT NULL
)""",
            "CREATE INDEX acks_campaign ON acks (campaign_id)",
        ),
    ),
    Migration(
        4,
        "locks per campaign and label on PostgreSQL: one row per holder, naming what it holds; "
        "each apply in the journal names its lock and what it locked",
        (
            """CREATE TABLE locks (
    lock_id TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at TEXT NOT NULL, session INTEGER, scope TEXT
)""",
            "INSERT INTO locks SELECT lock_id, holder, host, pid, started_at, session, NULL "
            "FROM lock",
            "DROP TABLE lock",
            "ALTER TABLE applies ADD COLUMN lock_id TEXT",
            "ALTER TABLE applies ADD COLUMN scope TEXT",
        ),
    ),
    Migration(
        5,
        "the audit trail: which files an apply read were not as in its commit (a dirty tree)",
        ("ALTER TABLE managed ADD COLUMN dirty TEXT",),
    ),
)
LATEST = MIGRATIONS[-1].version
VERSION_TABLE = "schema_version"
VERSION_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} "
    "(one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)"
)
# Tables whose rows are the store's content: a store holding none is migrated without an export.
CONTENT_TABLES = ("managed", "managed_labels", "applies", "journal", "apply_cursor",
                  "applied_commits", "acks")  # fmt: skip


class NewerStore(FatalError):
    def __init__(self, version: int):
        super().__init__(
            f"the state store was made by a newer campaign-gitops (schema {version}); upgrade "
            f"campaign-gitops to use it (this one knows schemas up to {LATEST})"
        )
        self.version = version


def unversioned(tables: set[str], managed_columns: set[str]) -> int | None:
    """The version of a store without a schema_version row: None when it has no tables yet."""
    if "managed" not in tables:
        return None
    return 1 if "author" in managed_columns else 0


def pending(version: int | None) -> list[str]:
    """The statements that bring a store at `version` (None: empty) to LATEST."""
    statements = list(BASE) if version is None else []
    for migration in MIGRATIONS:
        if migration.version > (version or 0):
            statements.extend(migration.statements)
    return statements
