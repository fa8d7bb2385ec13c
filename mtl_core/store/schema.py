"""The store's tables, its schema version, and the migrations that bring an older database up to date.

Runs are split in two tables so that listing never reads the large parts: ``mtl_runs`` holds what a list
shows, ``mtl_run_data`` the history, the weight changes and the model file. Table names carry an ``mtl_``
prefix so the store can share one database with Optuna's tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa

SCHEMA_VERSION = 2

metadata = sa.MetaData()

version_table = sa.Table("mtl_schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

runs = sa.Table(
    "mtl_runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("tasks", sa.Text, nullable=False),          # JSON list
    sa.Column("config", sa.Text, nullable=False),         # JSON object
    sa.Column("test_metrics", sa.Text, nullable=False),   # JSON object
    sa.Column("summary", sa.Text, nullable=False),        # JSON object
    sa.Column("started_at", sa.DateTime),                 # naive UTC
    sa.Column("ended_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("notebook", sa.String(64)),
    sa.Column("shared", sa.Boolean, nullable=False, default=False),
    sa.Column("study", sa.Text),
    sa.Column("trial", sa.Integer),
    sa.Column("model_size", sa.Integer),                  # bytes of the model file, NULL when there is none
    # v2
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("epochs_run", sa.Integer),
    sa.Index("ix_mtl_runs_notebook_started", "notebook", "started_at"),
    sa.Index("ix_mtl_runs_study_trial", "study", "trial"),
)

run_data = sa.Table(
    "mtl_run_data", metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("mtl_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("history", sa.Text, nullable=False),         # JSON list, one object per epoch
    sa.Column("weight_changes", sa.Text, nullable=False),  # JSON list
    sa.Column("model", sa.LargeBinary),
)


def create_v1(conn: sa.Connection) -> None:
    """Create the schema exactly as version 1 had it (frozen here so the migration path stays tested)."""
    old = sa.MetaData()
    version = sa.Table("mtl_schema_version", old, sa.Column("version", sa.Integer, nullable=False))
    sa.Table(
        "mtl_runs", old,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("tasks", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("test_metrics", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("notebook", sa.String(64)),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("study", sa.Text),
        sa.Column("trial", sa.Integer),
        sa.Column("model_size", sa.Integer),
        sa.Index("ix_mtl_runs_notebook_started", "notebook", "started_at"),
        sa.Index("ix_mtl_runs_study_trial", "study", "trial"),
    )
    sa.Table(
        "mtl_run_data", old,
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mtl_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("history", sa.Text, nullable=False),
        sa.Column("weight_changes", sa.Text, nullable=False),
        sa.Column("model", sa.LargeBinary),
    )
    old.create_all(conn)
    conn.execute(version.insert().values(version=1))


def _v1_to_v2(conn: sa.Connection) -> None:
    """v2 adds a one-line outcome message and the epoch count, filled from each run's history."""
    conn.execute(sa.text("ALTER TABLE mtl_runs ADD COLUMN message TEXT NOT NULL DEFAULT ''"))
    conn.execute(sa.text("ALTER TABLE mtl_runs ADD COLUMN epochs_run INTEGER"))
    # Counted in Python: histories may hold NaN, which the databases' own JSON functions reject.
    rows = conn.execute(sa.select(run_data.c.run_id, run_data.c.history)).all()
    for run_id, history in rows:
        conn.execute(runs.update().where(runs.c.id == run_id).values(epochs_run=len(json.loads(history))))


#: version -> the function that migrates a database of that version to the next one.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _v1_to_v2}


def read_version(conn: sa.Connection) -> int | None:
    """The schema version of the database, or None when it has no store yet."""
    if not sa.inspect(conn).has_table("mtl_schema_version"):
        return None
    return conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar()


def upgrade(conn: sa.Connection, version: int | None) -> int:
    """Create or migrate the schema inside the caller's (locked) transaction; returns the old version."""
    if version is None:
        metadata.create_all(conn)
        conn.execute(version_table.insert().values(version=SCHEMA_VERSION))
        return 0
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](conn)
    conn.execute(version_table.update().values(version=SCHEMA_VERSION))
    return version
