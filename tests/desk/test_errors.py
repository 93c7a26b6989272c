"""Every input the desk can reject is a 4xx in the one error shape, never a 500, and a
refused or abandoned exchange leaves no session behind (issue 19's server defects)."""

from __future__ import annotations

import json

import httpx
import pytest

from core.store import get_storage
from query.desk.server import create_app
from query.desk.sessions import SessionStore
from tests.live_server import serve, sse_events
from tests.servers import query_server

LONG = "가" * 10_000
BAD_CHATS = {
    "empty content": [{"role": "user", "content": ""}],
    "blank content": [{"role": "user", "content": "   \n "}],
    "content null": [{"role": "user", "content": None}],
    "only a system message": [{"role": "system", "content": "You are helpful."}],
    "a 10,000-character question": [{"role": "user", "content": LONG}],
}


@pytest.fixture(scope="module")
def desk(engine, tmp_path_factory):
    sessions = SessionStore(tmp_path_factory.mktemp("sessions") / "sessions.sqlite")
    with serve(create_app(engine, sessions)) as url:
        yield url, sessions


def _is_4xx(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == status and error["type"] and error["message"], error
    return error["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("case", list(BAD_CHATS))
def test_chat_completions_refuses_bad_input_with_400(desk, case, stream):
    url, _ = desk
    response = httpx.post(url + "/v1/chat/completions",
                          json={"model": "manual-qa", "messages": BAD_CHATS[case], "stream": stream}, timeout=30)
    message = _is_4xx(response)
    assert "internal error" not in message


def _session_ids(sessions: SessionStore) -> set[str]:
    return {s["session_id"] for s in sessions.list(limit=10_000)}


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_a_lone_surrogate_is_a_400_and_stores_no_session(desk, path):
    url, sessions = desk
    before = _session_ids(sessions)
    # what a client's JSON carries: the escape \ud800 with no low surrogate after it
    body = b'{"question": "\\ud800 abc"}'
    response = httpx.post(url + path, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert "not valid text" in _is_4xx(response)
    assert _session_ids(sessions) == before


def test_a_lone_surrogate_in_chat_completions_is_a_400(desk):
    url, _ = desk
    body = json.dumps({"messages": [{"role": "user", "content": "x"}]}).replace('"x"', '"\\ud800 abc"')
    response = httpx.post(url + "/v1/chat/completions", content=body.encode(),
                          headers={"Content-Type": "application/json"}, timeout=30)
    _is_4xx(response)


@pytest.mark.parametrize("path", ["/manuals/index.html%00.pdf", "/manuals/plans.html%00", "/static/x%00.js"])
def test_a_nul_byte_in_a_path_is_a_404(desk, path):
    url, _ = desk
    _is_4xx(httpx.get(url + path, timeout=10), 404)


def test_a_dropped_stream_leaves_no_empty_session(desk):
    url, sessions = desk
    before = _session_ids(sessions)
    for _ in range(3):  # the client reads the sources event, then goes away
        with httpx.stream("POST", url + "/api/ask/stream", json={"question": "일시 정지 한도는?"}, timeout=30) as r:
            assert r.status_code == 200
            kind, data = next(sse_events(r))
            assert kind == "sources" and data["session_id"]
    # a finished exchange stores its session, with its turn
    done = httpx.post(url + "/api/ask", json={"question": "일시 정지 한도는?"}, timeout=30).json()
    new = _session_ids(sessions) - before
    assert done["session_id"] in new and len(sessions.turns(done["session_id"])) == 1
    # a dropped stream whose answer was finished anyway stored its turn; none is empty
    assert all(sessions.turns(session_id) for session_id in new), new


def test_an_explicit_new_session_is_still_stored(desk):
    url, sessions = desk
    created = httpx.post(url + "/api/sessions", timeout=10)
    assert created.status_code == 201
    session_id = created.json()["session_id"]
    assert session_id in _session_ids(sessions)
    follow = httpx.post(url + "/api/ask", json={"question": "일시 정지 한도는?", "session_id": session_id}, timeout=30)
    assert follow.status_code == 200 and follow.json()["session_id"] == session_id


@pytest.mark.slow
def test_the_real_entry_point_answers_chat_input_errors_with_400(built_store, tmp_path):
    """`python -m query.server` as an operator starts it: before, openai_api took ApiError
    from query.desk.server, which then ran as __main__ (another class), so every /v1 input error
    was a 500 "internal error: ApiError(400, ...)"."""
    _, settings = built_store
    storage = get_storage(settings).root
    with query_server(storage, {"QUERY_LOG": "false"}) as url:
        for case, messages in BAD_CHATS.items():
            for stream in (False, True):
                response = httpx.post(url + "/v1/chat/completions", json={"messages": messages, "stream": stream},
                                      timeout=60)
                assert response.status_code == 400, (case, stream, response.text)
        manual = httpx.get(url + "/manuals/index.html%00.pdf", timeout=10)
        assert manual.status_code == 404, manual.text
