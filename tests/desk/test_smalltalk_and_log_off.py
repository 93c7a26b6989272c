"""Small talk end to end (page API -> engine -> log), and feedback when the log is off."""

from __future__ import annotations

import httpx
import pytest

from query.desk.server import create_app
from query.desk.sessions import SessionStore
from query.ops.querylog import QueryLog
from tests.live_server import serve


@pytest.fixture(scope="module")
def logged(engine, tmp_path_factory):
    base = tmp_path_factory.mktemp("smalltalk")
    log = QueryLog(f"sqlite:///{base / 'log.sqlite'}")
    with serve(create_app(engine, SessionStore(base / "sessions.sqlite"), log)) as url:
        yield url, log


def test_small_talk_is_answered_without_sources_and_logged_as_smalltalk(logged):
    url, log = logged
    reply = httpx.post(url + "/api/ask", json={"question": "감사합니다!"}, timeout=30).json()
    assert reply["sources"] == [] and reply["answer"].startswith("천만에요")
    assert reply["status"] == "smalltalk" and reply["intent"] == "smalltalk" and reply["mode"] == "extractive"
    row = log.get(reply["exchange_id"])
    assert row is not None and row.status == "smalltalk" and row.intent == "smalltalk"
    real = httpx.post(url + "/api/ask", json={"question": "일시 정지는 1년에 최대 며칠까지 가능한가요?"}, timeout=30).json()
    assert real["sources"] and log.get(real["exchange_id"]).status in ("answered", "low_confidence")


def test_feedback_with_the_log_off_is_a_503_and_the_desk_keeps_answering(engine, tmp_path):
    with serve(create_app(engine, SessionStore(tmp_path / "sessions.sqlite"))) as url:  # QUERY_LOG off
        answer = httpx.post(url + "/api/ask", json={"question": "일시 정지 한도는?"}, timeout=30).json()
        refused = httpx.post(url + "/api/feedback", json={"exchange_id": answer["exchange_id"], "rating": "up"},
                             timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"] == {"message": "the query log is off (QUERY_LOG=false)", "type": "unavailable",
                                           "code": 503}
        assert httpx.get(url + "/api/feedback/reasons", timeout=10).status_code == 200
        assert httpx.post(url + "/api/ask", json={"question": "안녕"}, timeout=30).status_code == 200
