"""Conversations of the API, persisted in SQLite under the storage directory.

A session is server-issued (random id) and holds its turns: the question as asked, the
standalone question retrieval used, the answer and the full answer contract. A restart
loses nothing. One connection serves every request: SQLite calls are short (a row or
two), so a lock around them is cheaper than a connection per thread and keeps writes
ordered; it is never held across retrieval or an LLM call.

Turns are stored with personal data redacted (query.pii): the question, the rewritten
question, the answer and the text fields of the stored answer contract. The history a
follow-up is rewritten against (and that an LLM may see) comes from here, so a caller's
number pasted in one turn never travels on with the conversation.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path

from core.sqlite import connect, migrate
from query.contract import Answer
from query.desk.errors import UnknownSession
from query.pii import redact

TITLE_CHARS = 60
__all__ = ["SessionStore", "UnknownSession", "redact_result"]


def redact_result(result: Answer) -> dict:
    """The answer's JSON contract with its free-text fields redacted (sources are manual text)."""
    return result.model_copy(update={
        "question": redact(result.question) or "",
        "standalone_question": redact(result.standalone_question),
        "answer": redact(result.answer) or "",
        "notice": redact(result.notice),
    }).contract()


# The store's schema, step by step (core.sqlite.migrate; append, never edit a shipped step).
MIGRATIONS = [
    ["CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', "
     "user TEXT, created REAL NOT NULL, updated REAL NOT NULL)",
     "CREATE TABLE IF NOT EXISTS turns (session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, "
     "n INTEGER NOT NULL, exchange_id TEXT NOT NULL UNIQUE, question TEXT NOT NULL, rewritten TEXT NOT NULL, "
     "answer TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (session_id, n))"],
]


class SessionStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self.db = connect(path)  # WAL, synchronous=NORMAL (core.sqlite says why)
        with self._lock:
            migrate(self.db, MIGRATIONS)

    @staticmethod
    def new_id() -> str:
        """An id for a conversation not stored yet: its row is written with its first turn
        (`add_turn(..., create=True)`), so a client that leaves before an answer (an SSE
        client dropping) leaves no empty session behind."""
        return secrets.token_urlsafe(12)

    def create(self, user: str | None = None) -> str:
        """A session stored now, empty (`POST /api/sessions`: the caller asked for one)."""
        session_id = self.new_id()
        now = time.time()
        with self._lock, self.db:
            self.db.execute("INSERT INTO sessions (id, user, created, updated) VALUES (?, ?, ?, ?)",
                            (session_id, user, now, now))
        return session_id

    def _check(self, session_id: str, user: str | None) -> None:
        """UnknownSession when there is no such session, or it belongs to another user: with
        access control on, one agent neither sees nor continues another's conversations
        (a session made anonymously, user NULL, stays open to all). Call holding the lock."""
        row = self.db.execute("SELECT user FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None or (user and row[0] and row[0] != user):
            raise UnknownSession(session_id)

    def turns(self, session_id: str, user: str | None = None) -> list[dict]:
        """The session's turns, oldest first; UnknownSession when there is no such session
        (or it is another user's)."""
        with self._lock:
            self._check(session_id, user)
            rows = self.db.execute(
                "SELECT n, exchange_id, question, rewritten, answer, result, created FROM turns "
                "WHERE session_id = ? ORDER BY n", (session_id,)).fetchall()
        return [
            {"n": n, "exchange_id": ex, "question": q, "rewritten": rw, "answer": a,
             "result": json.loads(res), "created": created}
            for n, ex, q, rw, a, res, created in rows
        ]

    def add_turn(self, session_id: str, exchange_id: str, question: str, rewritten: str, result: Answer,
                 *, create: bool = False, user: str | None = None) -> None:
        """Store one turn, redacted (`result` is copied, the caller's answer is not changed).

        `create`: the session is one `new_id` issued; its row (owned by `user`) is written
        with this first turn."""
        now = time.time()
        question, rewritten = redact(question) or "", redact(rewritten) or ""
        result = redact_result(result)
        with self._lock, self.db:
            if create:
                self.db.execute("INSERT OR IGNORE INTO sessions (id, user, created, updated) VALUES (?, ?, ?, ?)",
                                (session_id, user or None, now, now))
            row = self.db.execute("SELECT COALESCE(MAX(n), 0), (SELECT title FROM sessions WHERE id = ?) "
                                  "FROM turns WHERE session_id = ?", (session_id, session_id)).fetchone()
            if row[1] is None:
                raise UnknownSession(session_id)
            self.db.execute(
                "INSERT INTO turns (session_id, n, exchange_id, question, rewritten, answer, result, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, row[0] + 1, exchange_id, question, rewritten, result["answer"],
                 json.dumps(result, ensure_ascii=False), now))
            title = row[1] or question.strip()[:TITLE_CHARS]
            self.db.execute("UPDATE sessions SET updated = ?, title = ? WHERE id = ?", (now, title, session_id))

    def list(self, limit: int = 100, user: str | None = None) -> list[dict]:
        """The newest sessions; only `user`'s own when a user is given (access control on)."""
        where, args = ("WHERE s.user = ? ", (user,)) if user else ("", ())
        with self._lock:
            rows = self.db.execute(
                "SELECT s.id, s.title, s.created, s.updated, COUNT(t.n) FROM sessions s "
                "LEFT JOIN turns t ON t.session_id = s.id " + where +
                "GROUP BY s.id ORDER BY s.updated DESC LIMIT ?", (*args, limit)).fetchall()
        return [{"session_id": sid, "title": title, "created": created, "updated": updated, "turns": count}
                for sid, title, created, updated, count in rows]

    def delete(self, session_id: str, user: str | None = None) -> None:
        with self._lock, self.db:
            self._check(session_id, user)
            self.db.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
            deleted = self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        if not deleted:
            raise UnknownSession(session_id)
