"""The small SQLite stores (answer cache, sessions): one way to open them, and ordered migrations.

Why our own ~30 lines rather than Alembic (which the query log uses): these stores are a
table or two each, opened through the standard library's sqlite3 with no SQLAlchemy models;
`PRAGMA user_version` already is a schema version the file carries. Each store lists its
migrations in order; opening applies the ones the file has not seen, in one exclusive
transaction, so two processes opening a new store at once apply each migration once.
Migration 1 of each store keeps `IF NOT EXISTS`: files made before migrations existed
(user_version 0) already hold those tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

Migration = Sequence[str]  # the SQL statements of one schema step


def connect(path: Path) -> sqlite3.Connection:
    """A connection shared by a store's threads (the store holds its own lock around calls).

    WAL: readers never block the writer. synchronous=NORMAL: a commit survives the process
    dying (a crash, a restart); only a power cut may lose the last writes. FULL fsyncs on
    every commit: 3.4 ms here, paid by every question."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Apply the migrations the database has not seen; return its version (len(migrations))."""
    db.execute("BEGIN IMMEDIATE")  # one migrator at a time, across processes
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(migrations):
            raise RuntimeError(f"the database is at schema version {version}, newer than this code "
                               f"({len(migrations)}): upgrade the code, not the data")
        for statements in migrations[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {len(migrations)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(migrations)
