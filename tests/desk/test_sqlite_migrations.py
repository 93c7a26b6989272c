"""The answer cache and the sessions store migrate their SQLite schema in order
(core.sqlite), including files made before migrations existed."""

from __future__ import annotations

import sqlite3

import pytest

from core.sqlite import connect, migrate
from query.answer import cache
from query.answer.cache import AnswerCache
from query.desk import sessions
from query.desk.sessions import SessionStore


def _version(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_new_and_pre_migration_files_reach_the_current_version(tmp_path):
    old = tmp_path / "old-sessions.sqlite"
    with sqlite3.connect(old) as db:  # what the store wrote before it had migrations
        for statement in sessions.MIGRATIONS[0]:
            db.execute(statement)
        db.execute("INSERT INTO sessions (id, user, created, updated) VALUES ('kept', NULL, 1, 1)")
    assert _version(old) == 0
    store = SessionStore(old)
    assert _version(old) == len(sessions.MIGRATIONS) and store.turns("kept") == []
    AnswerCache(tmp_path / "cache.sqlite", 0.9)
    assert _version(tmp_path / "cache.sqlite") == len(cache.MIGRATIONS)


def test_each_step_runs_once_in_order_and_a_newer_file_is_refused(tmp_path):
    path = tmp_path / "store.sqlite"
    steps = [["CREATE TABLE a (x INTEGER)"], ["ALTER TABLE a ADD COLUMN y TEXT"]]
    assert migrate(connect(path), steps[:1]) == 1
    assert migrate(connect(path), steps) == 2  # only step 2 runs (step 1 again would fail: table exists)
    assert migrate(connect(path), steps) == 2
    with sqlite3.connect(path) as db:
        assert [row[1] for row in db.execute("PRAGMA table_info(a)")] == ["x", "y"]
    with pytest.raises(RuntimeError, match="newer than this code"):
        migrate(connect(path), steps[:1])
