"""The query log and feedback repository, run against SQLite and a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from query.ops.querylog import FeedbackError, QueryLog, database_url
from tests.helpers import make_settings
from tests.postgres import Postgres


@pytest.fixture(scope="module")
def postgres_url():
    server = Postgres()
    try:
        url = server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def log(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'querylog.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    log = QueryLog(url)
    yield log
    if request.param == "postgresql":  # one cluster for the module: leave it empty
        log.flush()
        with log.engine.begin() as connection:
            connection.execute(text("DELETE FROM feedback"))
            connection.execute(text("DELETE FROM exchange_sources"))
            connection.execute(text("DELETE FROM exchanges"))
    log.close()


def result(question="이사할 때 인터넷 이전 설치비는 얼마인가요?", answer="이전 설치비는 22,000원입니다 [1].", **extra):
    base = {
        "id": None, "question": question, "answer": answer, "mode": "llm",
        "sources": [{"rank": 1, "path": "procedures/moving.html", "anchor": "fees", "title": "이사",
                     "heading": "이전 설치비", "score": 0.0328},
                    {"rank": 2, "path": "internet/installation.html", "anchor": None, "title": "설치",
                     "heading": "", "score": 0.0301}],
        "usage": {"llm_requests": 1, "input_tokens": 900, "output_tokens": 40, "cost_usd": 0.000159},
        "latency": {"retrieve_ms": 41.5, "generate_ms": 812.0}, "latency_ms": 860.2,
        "cached": False, "similarity": 0.61,
    }
    base.update(extra)
    return base


def test_exchange_round_trip_with_sources_usage_and_user(log):
    exchange_id = log.record_exchange(result(notice="LLM slow"), user="agent7", session_id="s-1",
                                      rewritten="인터넷 이전 설치비", exchange_id="ex-1")
    assert exchange_id == "ex-1"
    row = log.get("ex-1")
    assert (row.user, row.session_id, row.mode, row.status) == ("agent7", "s-1", "llm", "answered")
    assert row.question.startswith("이사할 때") and row.rewritten == "인터넷 이전 설치비"
    assert row.answer == "이전 설치비는 22,000원입니다 [1]." and row.notice == "LLM slow"
    assert (row.retrieve_ms, row.generate_ms, row.latency_ms) == (41.5, 812.0, 860.2)
    assert (row.llm_requests, row.input_tokens, row.output_tokens) == (1, 900, 40)
    assert row.cost_usd == pytest.approx(0.000159) and row.cached is False
    assert [(s.rank, s.path, s.anchor, s.score) for s in row.sources] == [
        (1, "procedures/moving.html", "fees", pytest.approx(0.0328)),
        (2, "internet/installation.html", None, pytest.approx(0.0301))]


def test_personal_data_never_reaches_the_database(log):
    question = "주민번호 900101-1234568 고객, 연락처 010-2345-6789 인데 위약금 얼마?"
    log.record_exchange(result(question=question, answer="고객 010-2345-6789 님 위약금은 138,000원 [1]"),
                        rewritten="900101-1234568 위약금", exchange_id="ex-pii")
    log.record_feedback("ex-pii", "down", ["wrong"], "고객 메일 kim@example.com 로 회신 필요")
    log.flush()
    with log.engine.connect() as connection:
        dump = " ".join(str(v) for table in ("exchanges", "exchange_sources", "feedback")
                        for row in connection.execute(text(f"SELECT * FROM {table}")) for v in row)
    for secret in ("900101", "1234568", "2345-6789", "kim@example.com"):
        assert secret not in dump
    assert "<주민등록번호>" in dump and "<전화번호>" in dump and "<이메일>" in dump
    assert "138,000원" in dump  # prices are not personal data


def test_feedback_is_linked_and_validated(log):
    log.record_exchange(result(), exchange_id="ex-2", user="agent1")
    log.record_feedback("ex-2", "down", ["wrong", "outdated"], "요금이 바뀌었어요", user="agent1")
    log.record_feedback("ex-2", 1)
    row = log.get("ex-2")
    assert sorted(f.rating for f in row.feedback) == [-1, 1]
    down = next(f for f in row.feedback if f.rating == -1)
    assert down.reasons == "wrong,outdated" and down.comment == "요금이 바뀌었어요" and down.user == "agent1"
    with pytest.raises(FeedbackError, match="no logged exchange"):
        log.record_feedback("nope", "up")
    with pytest.raises(FeedbackError, match="no logged exchange"):  # another user's exchange
        log.record_feedback("ex-2", "up", user="agent2")
    with pytest.raises(FeedbackError, match="unknown reason"):
        log.record_feedback("ex-2", "down", ["rude"])
    with pytest.raises(FeedbackError, match="rating"):
        log.record_feedback("ex-2", "sideways")


def test_status_and_time_window(log):
    old = datetime.now(timezone.utc) - timedelta(days=10)
    log.record_exchange(result(), exchange_id="old", created_at=old)
    # the status is the answer's own (decided by the engine); the log stores it as given
    log.record_exchange(result(sources=[], status="no_match"), exchange_id="none")
    log.record_exchange(result(similarity=0.31, status="low_confidence"), exchange_id="weak")
    rows = log.exchanges(since=datetime.now(timezone.utc) - timedelta(days=7))
    assert {r.exchange_id: r.status for r in rows} == {"none": "no_match", "weak": "low_confidence"}
    assert len(log.exchanges()) == 3


def test_schema_comes_from_the_shipped_migrations(log):
    tables = set(inspect(log.engine).get_table_names())
    assert {"exchanges", "exchange_sources", "feedback", "alembic_version"} <= tables
    with log.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    QueryLog(log.url).close()  # opening again is a no-op migration


def test_database_url_from_settings(tmp_path):
    assert database_url(make_settings(tmp_path)) == f"sqlite:///{tmp_path / 'querylog.sqlite'}"
    settings = make_settings(tmp_path, database_url="postgres://u:p@db:5432/qa")
    assert database_url(settings) == "postgresql+psycopg://u:p@db:5432/qa"
