"""The query log and feedback: one small repository layer over SQLAlchemy 2.

Every exchange (question as asked and as rewritten, answer, sources, latency, usage, cache
hit, notice, user, session) and every judgement (thumbs up/down, reason chips, comment)
is stored with personal data redacted (query.pii) — the answer the agent saw is not
changed, only what is written here.

Database: SQLite at `Storage.log_db` by default; PostgreSQL when DATABASE_URL is set, so
several query replicas share one log. The schema is created and upgraded by Alembic on
open (the migration scripts ship inside the package: query/migrations).

Writes go through one background thread: answering never waits for the database
(measured on SQLite: see `python -m query.querylog --bench`). `flush()` waits for pending
writes; `record_feedback` flushes first so feedback on an answer just given finds it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import queue
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Integer, SmallInteger, String, Text, create_engine,
                        event, false, select)
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from core.settings import Settings
from core.store import get_storage
from query.contract import Answer
from query.pii import redact

REASONS = ("wrong", "outdated", "incomplete", "wrong_source", "other")


class Base(DeclarativeBase):
    pass


class Exchange(Base):
    __tablename__ = "exchanges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(200), default="")
    session_id: Mapped[str] = mapped_column(String(200), default="")
    question: Mapped[str] = mapped_column(Text)
    rewritten: Mapped[str | None] = mapped_column(Text, nullable=True)
    mode: Mapped[str] = mapped_column(String(20), default="")
    intent: Mapped[str] = mapped_column(String(40), default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    notice: Mapped[str | None] = mapped_column(Text, nullable=True)
    cached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cache_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    retrieve_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    generate_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    llm_requests: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    top_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="answered", index=True)
    sources: Mapped[list[ExchangeSource]] = relationship(order_by="ExchangeSource.rank", lazy="selectin",
                                                         cascade="all, delete-orphan")
    feedback: Mapped[list[Feedback]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class ExchangeSource(Base):
    __tablename__ = "exchange_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(String(64), ForeignKey("exchanges.exchange_id", ondelete="CASCADE"),
                                             index=True)
    rank: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    anchor: Mapped[str | None] = mapped_column(Text, nullable=True)
    title: Mapped[str] = mapped_column(Text, default="")
    heading: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[str] = mapped_column(String(64), ForeignKey("exchanges.exchange_id", ondelete="CASCADE"),
                                             index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(200), default="")
    rating: Mapped[int] = mapped_column(SmallInteger)
    reasons: Mapped[str] = mapped_column(Text, default="")  # comma-separated REASONS
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class FeedbackError(ValueError):
    """Feedback that cannot be stored; the message says why (bad rating or reason)."""


class UnknownExchange(FeedbackError):
    """Feedback on an exchange the log does not hold."""


def database_url(settings: Settings, storage_dir: Path | str | None = None) -> str:
    """DATABASE_URL (postgresql:// made to use psycopg 3), or the SQLite file under storage."""
    url = settings.database_url.strip()
    if not url:
        path = get_storage(settings, storage_dir).log_db
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@contextmanager
def _one_migrator(engine: DbEngine) -> Iterator[None]:
    """Replicas that start together migrate one at a time.

    Why: both read "no alembic_version table" and both create it; the second then failed
    with "table alembic_version already exists" and its server exited (seen with two
    query replicas on one storage; 1 of 36 processes in a three-at-once reproduction).
    SQLite: an exclusive lock on a file beside the database; PostgreSQL: a
    transaction-scoped advisory lock, taken in `migrate` (it holds across hosts).
    """
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def migrate(engine: DbEngine) -> None:
    """Bring the schema to the newest revision (idempotent; replicas starting at once
    migrate one after the other, see `_one_migrator`)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with _one_migrator(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7243501)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class QueryLog:
    def __init__(self, url: str, background: bool = True) -> None:
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True)
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")  # readers (the report) never block the writer
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes; no fsync per row
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._queue: queue.Queue = queue.Queue()
        self._errors: list[str] = []
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._writer, name="querylog-writer", daemon=True)
            self._thread.start()

    # ---- writing ------------------------------------------------------------------------
    def record_exchange(self, result: Answer | dict, *, user: str = "", session_id: str = "",
                        rewritten: str | None = None, exchange_id: str | None = None,
                        created_at: datetime | None = None) -> str:
        """Queue one exchange for writing; return its exchange_id. `result`: the `Answer`, or
        its JSON contract (validated into one). The status is the answer's own, set where it
        was decided (query.answer.engine), never re-derived here.

        Redaction happens in the writer thread, so the caller only pays for a queue put."""
        answer = Answer.model_validate(result).model_copy(deep=True)  # later edits by the caller do not leak in
        exchange_id = exchange_id or answer.exchange_id or uuid.uuid4().hex
        job = (answer, user or "", session_id or "", rewritten, exchange_id,
               created_at or datetime.now(timezone.utc))
        if self._thread is None:
            self._write_exchange(*job)
        else:
            self._queue.put(job)
        return exchange_id

    def _row(self, answer: Answer, user: str, session_id: str, rewritten: str | None, exchange_id: str,
             created_at: datetime) -> Exchange:
        usage, latency = answer.usage, answer.latency
        row = Exchange(
            exchange_id=exchange_id, created_at=created_at, user=user, session_id=session_id,
            question=redact(answer.question) or "",
            rewritten=redact(rewritten) if rewritten and rewritten != answer.question else None,
            mode=answer.mode.value, intent=answer.intent.value,
            answer=redact(answer.answer) or "", notice=redact(answer.notice),
            cached=answer.cached, cache_kind=answer.cache.value if answer.cache else None,
            retrieve_ms=latency.retrieve_ms, generate_ms=latency.generate_ms, latency_ms=answer.latency_ms,
            llm_requests=usage.llm_requests, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd, top_score=answer.similarity, status=answer.status.value,
        )
        row.sources = [ExchangeSource(rank=s.rank, path=s.path, anchor=s.anchor, title=s.title, heading=s.heading,
                                      score=s.score)
                       for s in answer.sources]
        return row

    def _write_exchange(self, *job) -> None:
        with self.sessions.begin() as session:
            session.add(self._row(*job))

    def _writer(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._write_exchange(*job)
            except Exception as exc:  # a failing database must never take answering down
                self._errors.append(f"{type(exc).__name__}: {exc}")
                print(f"query log: could not write an exchange ({type(exc).__name__}: {exc})", file=sys.stderr)
            finally:
                self._queue.task_done()

    def flush(self) -> list[str]:
        """Wait until every queued exchange is written; return (and clear) write errors."""
        if self._thread is not None:
            self._queue.join()
        errors, self._errors = self._errors, []
        return errors

    def record_feedback(self, exchange_id: str, rating: int | str, reasons: list[str] | tuple[str, ...] = (),
                        comment: str | None = None, *, user: str = "") -> int:
        """Store a thumbs up (+1, "up") or down (-1, "down") with reason chips and a comment.

        Raises FeedbackError for an unknown exchange (or another user's), rating or reason."""
        value = {"up": 1, "down": -1, "1": 1, "-1": -1, "+1": 1}.get(str(rating).strip().lower())
        if value is None:
            raise FeedbackError(f"rating must be up/down or 1/-1, got {rating!r}")
        bad = [r for r in reasons if r not in REASONS]
        if bad:
            raise FeedbackError(f"unknown reason(s) {bad}; choose from {', '.join(REASONS)}")
        self.flush()
        with self.sessions.begin() as session:
            owner = session.scalar(select(Exchange.user).where(Exchange.exchange_id == exchange_id))
            # When both sides name a user (access control is on), only the exchange's own user
            # may judge it; another user's id is answered as unknown, so ids cannot be probed.
            # An anonymous exchange (or an anonymous server, where a name is only claimed)
            # stays open to anyone.
            if owner is None or (owner and user and owner != user):
                raise UnknownExchange(f"no logged exchange with id {exchange_id!r}")
            row = Feedback(exchange_id=exchange_id, created_at=datetime.now(timezone.utc), user=user or "",
                           rating=value, reasons=",".join(dict.fromkeys(reasons)), comment=redact(comment) or None)
            session.add(row)
            session.flush()
            return row.id

    # ---- reading ------------------------------------------------------------------------
    def exchanges(self, since: datetime | None = None) -> list[Exchange]:
        """Exchanges (with sources and feedback loaded) from `since` on, oldest first."""
        self.flush()
        query = select(Exchange).order_by(Exchange.created_at, Exchange.id)
        if since is not None:
            query = query.where(Exchange.created_at >= since)
        with self.sessions() as session:
            return list(session.scalars(query).all())

    def get(self, exchange_id: str) -> Exchange | None:
        self.flush()
        with self.sessions() as session:
            return session.scalar(select(Exchange).where(Exchange.exchange_id == exchange_id))

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None
        self.engine.dispose()


def open_log(settings: Settings, storage_dir: Path | str | None = None, background: bool = True) -> QueryLog:
    """The query log the settings name (DATABASE_URL or storage/querylog.sqlite), migrated."""
    return QueryLog(database_url(settings, storage_dir), background)


def _bench(argv_storage: Path | None, n: int) -> None:
    """Median cost of record_exchange for the caller (queue put) and of a full write."""
    import statistics
    import tempfile

    from core.settings import get_settings

    settings = get_settings()
    directory = Path(argv_storage or tempfile.mkdtemp(prefix="querylog-bench-"))
    result = {"question": "주민번호 900101-1234568 고객 이사할 때 인터넷 이전 설치비는 얼마인가요?",
              "answer": "이전 설치비는 22,000원입니다 [1]. 문의 010-1234-5678", "mode": "extractive",
              "sources": [{"rank": i, "path": "procedures/moving.html", "anchor": "fees", "score": 0.03}
                          for i in range(1, 6)],
              "usage": {"llm_requests": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0},
              "latency": {"retrieve_ms": 40.0, "generate_ms": 5.0}, "latency_ms": 45.0, "similarity": 0.6}
    for background in (True, False):
        log = QueryLog(database_url(settings, directory), background=background)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            log.record_exchange(result, user="bench", session_id="s")
            times.append((time.perf_counter() - started) * 1000)
        log.flush()
        log.close()
        label = "caller (background writer)" if background else "synchronous write incl. redaction"
        print(f"{label}: median {statistics.median(times):.3f} ms, p95 "
              f"{sorted(times)[int(0.95 * len(times)) - 1]:.3f} ms over {n} exchanges ({directory})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query.querylog", description="Query log maintenance.")
    parser.add_argument("--storage", type=Path)
    parser.add_argument("--bench", type=int, metavar="N", help="time N writes")
    parser.add_argument("--show", type=int, metavar="N", help="print the last N exchanges as JSON lines")
    args = parser.parse_args(argv)
    if args.bench:
        _bench(args.storage, args.bench)
        return 0
    from core.settings import get_settings

    log = open_log(get_settings(), args.storage)
    try:
        if args.show:
            for row in log.exchanges()[-args.show:]:
                print(json.dumps({"exchange_id": row.exchange_id, "time": row.created_at.isoformat(),
                                  "user": row.user, "question": row.question, "status": row.status,
                                  "feedback": [f.rating for f in row.feedback]}, ensure_ascii=False))
        else:
            print(f"query log at {log.url}: migrated, {len(log.exchanges())} exchanges")
    finally:
        log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["QueryLog", "open_log", "database_url", "FeedbackError", "UnknownExchange", "REASONS"]
