"""Issue 13 wired into the desk (issue 11): access control, the query log and personal data,
through the running server (FastAPI under uvicorn, real HTTP, the loopback LLM stub)."""

from __future__ import annotations

import copy
import sqlite3

import httpx
import openai
import pytest

from query.desk.auth import AuthConfigError, hash_key
from query.answer.cache import AnswerCache
from query.ops.querylog import open_log
from query.desk.server import create_app
from query.desk.sessions import SessionStore
from tests.helpers import make_settings
from tests.live_server import serve, sse_events
from tests.openai_stub import StubOpenAI

KEY = "mqa-test-key-agent7"
QUESTION = "일시 정지는 1년에 최대 며칠까지 가능한가요?"


def _engine_with(engine, **overrides):
    """The shared, already loaded engine with other access settings (no second model load)."""
    other = copy.copy(engine)
    other.settings = engine.settings.model_copy(update=overrides)
    return other


@pytest.fixture(scope="module")
def guarded(engine, tmp_path_factory):
    """API keys (one named agent7), the trusted proxy header, 4 requests per user per minute."""
    base = tmp_path_factory.mktemp("guarded")
    guarded_engine = _engine_with(engine, api_keys=f"{hash_key(KEY)}:agent7", auth_user_header="X-Forwarded-User",
                                  rate_limit_per_minute=4)
    log = open_log(guarded_engine.settings, base)
    app = create_app(guarded_engine, SessionStore(base / "sessions.sqlite"), log)
    with serve(app) as url:
        yield url, log


def test_keys_users_and_rate_limit(guarded):
    url, log = guarded
    bearer = {"Authorization": f"Bearer {KEY}"}
    # no key: 401 with a message that says what to send; the page itself still loads
    missing = httpx.post(url + "/api/ask", json={"question": QUESTION}, timeout=30)
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["error"]["message"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = httpx.post(url + "/api/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer nope"},
                       timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "invalid API key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="not-a-key", max_retries=0).chat.completions.create(
            model="manual-qa", messages=[{"role": "user", "content": QUESTION}])
    assert httpx.get(url + "/", timeout=10).status_code == 200

    # with the key: answered, and the log row carries the key's user (1st and 2nd request of agent7)
    asked = httpx.post(url + "/api/ask", json={"question": QUESTION}, headers=bearer, timeout=30)
    assert asked.status_code == 200
    chat = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0).chat.completions.create(
        model="manual-qa", messages=[{"role": "user", "content": "How much does the daily roaming pass cost?"}])
    assert "[1]" in chat.choices[0].message.content
    # behind the proxy the header names the user
    proxied = httpx.post(url + "/api/ask", json={"question": QUESTION}, headers={"X-Forwarded-User": "lee.agent"},
                         timeout=30)
    assert proxied.status_code == 200
    rows = {row.exchange_id: row for row in log.exchanges()}
    assert rows[asked.json()["exchange_id"]].user == "agent7"
    assert rows[chat.model_extra["manual_qa"]["exchange_id"]].user == "agent7"
    assert rows[proxied.json()["exchange_id"]].user == "lee.agent"
    assert rows[asked.json()["exchange_id"]].session_id == asked.json()["session_id"]

    # feedback carries the proxy user too (lee's 2nd request)
    given = httpx.post(url + "/api/feedback", headers={"X-Forwarded-User": "lee.agent"}, timeout=10,
                       json={"exchange_id": proxied.json()["exchange_id"], "rating": "down", "reasons": ["incomplete"]})
    assert given.status_code == 201
    assert [(f.user, f.reasons) for f in log.get(proxied.json()["exchange_id"]).feedback] == [("lee.agent", "incomplete")]

    # each agent sees only their own conversations (agent7's 3rd, lee's 3rd and 4th request)
    mine = asked.json()["session_id"]
    assert [s["session_id"] for s in httpx.get(url + "/api/sessions", headers=bearer, timeout=10).json()["sessions"]] \
        == [mine]
    lee = {"X-Forwarded-User": "lee.agent"}
    assert mine not in str(httpx.get(url + "/api/sessions", headers=lee, timeout=10).json())
    assert httpx.get(url + f"/api/sessions/{mine}", headers=lee, timeout=10).status_code == 404

    # agent7's 4th request passes, the 5th within the minute is refused with Retry-After
    assert httpx.get(url + f"/api/sessions/{mine}", headers=bearer, timeout=10).status_code == 200
    limited = httpx.post(url + "/api/ask", json={"question": QUESTION}, headers=bearer, timeout=10)
    assert limited.status_code == 429 and "4 requests per minute" in limited.json()["error"]["message"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # ...per user: someone else still gets through
    assert httpx.get(url + "/api/health", headers={"X-Forwarded-User": "kim.agent"}, timeout=10).status_code == 200


def test_unreadable_api_keys_fail_at_start_up(engine):
    with pytest.raises(AuthConfigError, match="sha256 hex digest"):
        create_app(_engine_with(engine, api_keys="not-a-digest"))


RRN, PHONE, PHONE2 = "900101-1234568", "010-2345-6789", "010-3456-7890"
SECRETS = (RRN, RRN.replace("-", ""), "1234568", PHONE, "2345-6789", PHONE2, "3456-7890")
CONDENSED = "인터넷 해지 위약금은 2년 넘게 쓰면 얼마인가요?"


def _reply(body: dict) -> str:
    if body["messages"][0]["content"].startswith("Rewrite the user's last message"):
        return CONDENSED
    return "위약금은 1년 미만 138,000원입니다 [1]."


@pytest.fixture(scope="module")
def llm_desk(built_store, tmp_path_factory):
    """The server with the LLM stub, the answer cache, sessions and the log in a private directory."""
    _, built = built_store
    base = tmp_path_factory.mktemp("pii-desk")
    with StubOpenAI() as stub:
        stub.reply_with(_reply)
        settings = make_settings(built.storage_dir, openai_base_url=stub.base_url, openai_api_key="test",
                                 llm_max_retries=0, llm_timeout=10, query_log=True)
        from query.answer.engine import Engine

        engine = Engine(settings)
        engine.cache = AnswerCache(base / "answers.sqlite", settings.cache_similarity)
        log = open_log(settings, base)
        app = create_app(engine, SessionStore(base / "sessions.sqlite"), log)
        with serve(app) as url:
            yield url, stub, log, base


def _dump(path) -> str:
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    text = " ".join(str(v) for t in tables for row in db.execute(f'SELECT * FROM "{t}"') for v in row)
    db.close()
    return text


def test_personal_data_leaves_no_trace_through_the_server(llm_desk):
    url, stub, log, base = llm_desk
    stub.requests.clear()
    question = f"고객 주민번호 {RRN}, 연락처 {PHONE} 인데 1년 안에 인터넷을 해지하면 위약금이 얼마인가요?"
    with httpx.stream("POST", url + "/api/ask/stream", json={"question": question}, timeout=30) as response:
        events = list(sse_events(response))
    first = events[-1][1]
    assert events[-1][0] == "done" and first["mode"] == "llm"
    assert first["question"] == question  # the agent sees what was asked, unredacted
    follow = f"그럼 2년 넘게 쓰면요? 번호는 {PHONE2}"
    second = httpx.post(url + "/api/ask", json={"question": follow, "session_id": first["session_id"]},
                        timeout=30).json()
    assert second["question"] == follow and second["standalone_question"] == CONDENSED
    # /v1: the history comes from the client, and the condense step still gets it redacted
    chat = httpx.post(url + "/v1/chat/completions", timeout=30, json={"model": "manual-qa", "messages": [
        {"role": "user", "content": question}, {"role": "assistant", "content": "위약금은 138,000원입니다 [1]."},
        {"role": "user", "content": follow}]})
    assert chat.status_code == 200
    assert log.flush() == []

    sent = " ".join(str(m["content"]) for r in stub.requests if "messages" in r for m in r["messages"])
    condensing = [r for r in stub.requests if r["messages"][0]["content"].startswith("Rewrite")]
    assert len(condensing) == 2  # the session's follow-up and the /v1 one
    places = {"LLM requests": sent, "log": _dump(base / "querylog.sqlite"), "cache": _dump(base / "answers.sqlite"),
              "sessions": _dump(base / "sessions.sqlite")}
    for name in places:
        assert "<전화번호>" in places[name], name  # stored / sent, with typed placeholders
    assert "<주민등록번호>" in places["log"] and "<주민등록번호>" in places["cache"]
    for name, dump in places.items():
        for secret in SECRETS:
            assert secret not in dump, f"{secret} found in the {name}"
    # the session's history as the API returns it (and the page shows on resume) is redacted too
    turns = httpx.get(url + f"/api/sessions/{first['session_id']}", timeout=10).json()["turns"]
    assert "<주민등록번호>" in turns[0]["question"] and "<전화번호>" in turns[1]["question"]
