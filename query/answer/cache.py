"""Persistent cache of LLM answers: exact and semantic, tied to the sources' content.

Key: the normalised question plus the retrieved chunks and their manuals' content hashes
(and the model and prompt version). A changed manual changes its chunks' `doc_hash`, so
every cached answer that used it misses from then on: no stale answer survives an update.
The semantic layer reuses an answer when a new question's embedding is within
`CACHE_SIMILARITY` of a cached one *and* retrieval returned the same sources.
Questions are stored and keyed with personal data redacted (query.pii).
"""

from __future__ import annotations

import hashlib
import threading
import time
import unicodedata
from pathlib import Path

import numpy as np

from core.chunk_record import DOC_HASH
from core.sqlite import connect, migrate
from query.pii import redact
from query.answer.sections import Section


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch.isspace())
    return " ".join(text.split())


def sources_signature(sections: list[Section], model: str, prompt_version: str) -> str:
    parts = [model, prompt_version]
    for section in sections:
        for hit in section.context:
            parts.append(f"{hit.node.node_id}:{hit.node.metadata.get(DOC_HASH, '')}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# The cache's schema, step by step (core.sqlite.migrate; append, never edit a shipped step).
MIGRATIONS = [
    ["CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, signature TEXT NOT NULL, "
     "question TEXT NOT NULL, vector BLOB, answer TEXT NOT NULL, created REAL NOT NULL)",
     "CREATE INDEX IF NOT EXISTS answers_signature ON answers(signature)"],
]


class AnswerCache:
    def __init__(self, path: Path, threshold: float) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self.db = connect(path)
        migrate(self.db, MIGRATIONS)

    @staticmethod
    def _key(question: str, signature: str) -> str:
        # Keyed on the redacted question: the LLM only ever sees that one (query.answer.generate), so
        # two questions differing in a caller's phone number have the same answer, and a hash
        # of a question with a registration number in it could be brute-forced back.
        return hashlib.sha256(f"{normalise(redact(question) or '')}\x1f{signature}".encode("utf-8")).hexdigest()

    def get(self, question: str, signature: str, vector: list[float] | None) -> tuple[str, str] | None:
        """Return (answer, "exact"|"semantic") or None."""
        with self._lock:
            row = self.db.execute("SELECT answer FROM answers WHERE key = ?", (self._key(question, signature),)).fetchone()
            if row:
                return row[0], "exact"
            if vector is None:
                return None
            candidates = self.db.execute(
                "SELECT vector, answer FROM answers WHERE signature = ? AND vector IS NOT NULL", (signature,)
            ).fetchall()
        query = np.asarray(vector, dtype=np.float32)
        query /= np.linalg.norm(query) + 1e-9
        best, answer = 0.0, None
        for blob, cached in candidates:
            other = np.frombuffer(blob, dtype=np.float32)
            similarity = float(other @ query / (np.linalg.norm(other) + 1e-9))
            if similarity > best:
                best, answer = similarity, cached
        return (answer, "semantic") if answer is not None and best >= self.threshold else None

    def put(self, question: str, signature: str, vector: list[float] | None, answer: str) -> None:
        blob = np.asarray(vector, dtype=np.float32).tobytes() if vector is not None else None
        with self._lock, self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO answers (key, signature, question, vector, answer, created) VALUES (?, ?, ?, ?, ?, ?)",
                (self._key(question, signature), signature, redact(question), blob, answer, time.time()),
            )


