"""The HTTP API (FastAPI under uvicorn, real HTTP) and the manual links the web page opens."""

import httpx
import pytest

from query.desk.server import create_app
from query.desk.sessions import SessionStore
from tests.live_server import serve, sse_events


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    sessions = SessionStore(tmp_path_factory.mktemp("sessions") / "sessions.sqlite")
    with serve(create_app(engine, sessions)) as url:
        yield url


def test_ask_returns_the_contract_with_openable_links(server):
    response = httpx.post(server + "/api/ask", json={"question": "일시 정지는 1년에 최대 며칠까지 가능한가요?", "top_k": 3},
                          timeout=30)
    result = response.json()
    assert response.status_code == 200 and result["mode"] == "extractive"
    for key in ("id", "question", "answer", "sources", "usage", "latency", "latency_ms", "cached"):
        assert key in result, key
    assert result["exchange_id"] and result["session_id"]
    limits = [s for s in result["sources"][:2] if s["url"] == "billing/suspend.html#limits"]
    assert limits and limits[0]["href"] == "/manuals/billing/suspend.html#limits", result["sources"]
    page = httpx.get(server + "/manuals/billing/suspend.html", timeout=10)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "정지 한도" in page.text  # the EUC-KR manual served as clean UTF-8


def test_bad_requests_and_escapes_are_refused(server):
    missing = httpx.post(server + "/api/ask", json={"q": "x"}, timeout=10)
    assert missing.status_code == 400 and "question" in missing.json()["error"]["message"]
    blank = httpx.post(server + "/api/ask", json={"question": "  "}, timeout=10)
    assert blank.status_code == 400 and blank.json()["error"]["message"] == "the question is empty"
    long = httpx.post(server + "/api/ask", json={"question": "가" * 2001}, timeout=10)
    assert long.status_code == 400 and "2000" in long.json()["error"]["message"]
    broken = httpx.post(server + "/api/ask", content=b"{not json", headers={"Content-Type": "application/json"},
                        timeout=10)
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    unknown = httpx.post(server + "/api/ask", json={"question": "요금", "session_id": "nope"}, timeout=10)
    assert unknown.status_code == 404 and "unknown session" in unknown.json()["error"]["message"]
    assert httpx.get(server + "/api/nothing", timeout=10).json()["error"]["message"] == "not found: /api/nothing"
    for escape in ("/manuals/../../../../etc/passwd", "/manuals/%2e%2e/%2e%2e/etc/passwd"):
        assert httpx.get(server + escape, timeout=10).status_code == 404
    assert "매뉴얼 질의응답" in httpx.get(server + "/", timeout=10).text
    # ...and it still serves
    assert httpx.get(server + "/api/health", timeout=10).json()["ok"] is True
    docs = httpx.get(server + "/docs", timeout=10)
    assert docs.status_code == 200 and "cdn." not in docs.text  # works offline
    script = next(part.split('"')[0] for part in docs.text.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert httpx.get(server + script, timeout=10).status_code == 200


def test_a_failure_inside_the_stream_arrives_as_an_error_event(server, engine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(engine.retriever, "retrieve", broken)
    with httpx.stream("POST", server + "/api/ask/stream", json={"question": "위약금은 얼마인가요?"}, timeout=30) as response:
        events = list(sse_events(response))
    assert events == [("error", {"error": "RuntimeError: index unavailable"})]
    plain = httpx.post(server + "/api/ask", json={"question": "위약금은 얼마인가요?"}, timeout=30)
    assert plain.status_code == 500 and plain.json() == {"error": {
        "message": "internal error: RuntimeError: index unavailable", "type": "server_error", "code": 500}}
    monkeypatch.undo()
    assert httpx.post(server + "/api/ask", json={"question": "위약금은 얼마인가요?"}, timeout=30).status_code == 200


def test_stream_sends_sources_then_tokens_then_done(server):
    with httpx.stream("POST", server + "/api/ask/stream", json={"question": "How much does the daily roaming pass cost in Japan?"},
                      timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and "token" in kinds
    assert events[0][1]["sources"][0]["href"].startswith("/manuals/")
    done = events[-1][1]
    assert done["answer"] == "".join(d["text"] for k, d in events if k == "token")
    assert done["sources"] == events[0][1]["sources"] and done["exchange_id"]


def test_sessions_keep_turns_and_rewrite_follow_ups(server):
    first = httpx.post(server + "/api/ask", json={"question": "인터넷 해지 위약금은 얼마인가요?"}, timeout=30).json()
    session = first["session_id"]
    second = httpx.post(server + "/api/ask", json={"question": "그럼 2년 넘게 쓰면요?", "session_id": session}, timeout=30).json()
    assert second["session_id"] == session
    assert "해지" in second["standalone_question"] and "위약금" in second["standalone_question"]
    assert first["sources"][0]["path"] == second["sources"][0]["path"] == "billing/cancel.html"
    listed = httpx.get(server + "/api/sessions", timeout=10).json()["sessions"]
    mine = next(s for s in listed if s["session_id"] == session)
    assert mine["turns"] == 2 and mine["title"].startswith("인터넷 해지")
    turns = httpx.get(server + f"/api/sessions/{session}", timeout=10).json()["turns"]
    assert [t["question"] for t in turns] == ["인터넷 해지 위약금은 얼마인가요?", "그럼 2년 넘게 쓰면요?"]
    assert turns[1]["exchange_id"] == second["exchange_id"]
    assert httpx.delete(server + f"/api/sessions/{session}", timeout=10).status_code == 200
    assert httpx.get(server + f"/api/sessions/{session}", timeout=10).status_code == 404
    assert httpx.delete(server + f"/api/sessions/{session}", timeout=10).status_code == 404
