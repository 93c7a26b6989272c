"""The server with an OpenAI-compatible endpoint (the loopback stub): streaming, concurrency,
cancellation, follow-up condensing, and the fallback when the endpoint fails."""

import threading
import time

import httpx
import pytest

from query.desk.server import create_app, load
from query.desk.sessions import SessionStore
from tests.helpers import make_settings
from tests.live_server import serve, sse_events
from tests.openai_stub import StubOpenAI

STANDALONE = "인터넷 해지 위약금은 2년 이상 사용하면 얼마인가요?"


def _reply(body: dict) -> str:
    system = body["messages"][0]["content"]
    if system.startswith("Rewrite the user's last message"):
        return STANDALONE
    return "위약금은 46,000원입니다 [1]. 무약정은 없습니다 [9]."


@pytest.fixture(scope="module")
def stub():
    with StubOpenAI() as stub:
        stub.reply_with(_reply)
        yield stub


@pytest.fixture(scope="module")
def server(built_store, stub, tmp_path_factory):
    _, settings = built_store
    settings = make_settings(settings.storage_dir, openai_base_url=stub.base_url, openai_api_key="test",
                             llm_max_retries=0, llm_timeout=10)
    engine = load(settings, None)  # models loaded and warmed, as the server does
    engine.cache = None  # every question here must reach the endpoint
    sessions = SessionStore(tmp_path_factory.mktemp("llm-sessions") / "sessions.sqlite")
    with serve(create_app(engine, sessions)) as url:
        yield url


def _stream(server: str, body: dict) -> list[tuple[str, dict]]:
    with httpx.stream("POST", server + "/api/ask/stream", json=body, timeout=30) as response:
        return list(sse_events(response))


def test_llm_answer_streams_after_the_sources_with_validated_citations(server, stub):
    events = _stream(server, {"question": "인터넷 해지 위약금은 얼마인가요?"})
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and kinds.count("token") > 1
    done = events[-1][1]
    assert done["mode"] == "llm" and done["removed_citations"] == [9]
    assert done["answer"] == "위약금은 46,000원입니다 [1]. 무약정은 없습니다."
    assert done["usage"]["llm_requests"] == 1 and done["usage"]["output_tokens"] > 0
    assert done["sources"][0]["path"] == "billing/cancel.html"


def test_answers_run_concurrently(server, stub):
    """Eight questions against a 3 s endpoint overlap there: with answers serialised (a lock)
    each request would reach the endpoint only after the previous one's 3 s were over."""
    stub.delay_next(3.0, times=8)
    stub.arrivals.clear()
    results: list[dict] = []

    def ask(i: int) -> None:
        response = httpx.post(server + "/api/ask", json={"question": f"해지 위약금 {i}년차는 얼마인가요?"}, timeout=30)
        results.append(response.json())

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["mode"] for r in results] == ["llm"] * 8
    arrivals = sorted(stub.arrivals)
    in_flight = max(sum(a <= b < a + 3.0 for b in arrivals) for a in arrivals)
    assert len(arrivals) == 8 and in_flight >= 4, f"at most {in_flight} requests at the endpoint at once: {arrivals}"


def test_disconnect_cancels_the_llm_request(server, stub):
    before = httpx.get(server + "/api/health", timeout=10).json()
    stub.delay_next(3.0)
    with httpx.stream("POST", server + "/api/ask/stream", json={"question": "해지 절차는 어떻게 되나요?"},
                      timeout=30) as response:
        kind, _ = next(sse_events(response))
        assert kind == "sources"
    # the client left while the model was still "thinking"
    deadline = time.monotonic() + 2.5
    health = before
    while time.monotonic() < deadline:
        health = httpx.get(server + "/api/health", timeout=10).json()
        if health["cancelled"] > before["cancelled"]:
            break
        time.sleep(0.1)
    assert health["cancelled"] == before["cancelled"] + 1 and health["in_flight"] == 0

def _session_ids(server: str) -> set[str]:
    return {s["session_id"] for s in httpx.get(server + "/api/sessions", timeout=10).json()["sessions"]}


def test_a_dropped_stream_leaves_no_empty_session(server, stub):
    """The session of a new conversation is stored with its first turn: a client that
    leaves before the answer (here while the model is still "thinking") leaves nothing."""
    before = _session_ids(server)
    cancelled = httpx.get(server + "/api/health", timeout=10).json()["cancelled"]
    for _ in range(3):
        stub.delay_next(3.0)
        with httpx.stream("POST", server + "/api/ask/stream", json={"question": "해지 절차는 어떻게 되나요?"},
                          timeout=30) as response:
            kind, data = next(sse_events(response))
            assert kind == "sources" and data["session_id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        health = httpx.get(server + "/api/health", timeout=10).json()
        if health["cancelled"] >= cancelled + 3 and health["in_flight"] == 0:
            break
        time.sleep(0.1)
    assert _session_ids(server) == before



def test_follow_up_is_condensed_by_the_llm_and_counted(server, stub):
    first = httpx.post(server + "/api/ask", json={"question": "인터넷 해지 위약금은 얼마인가요?"}, timeout=30).json()
    stub.requests.clear()
    second = httpx.post(server + "/api/ask", json={"question": "그럼 2년 넘게 쓰면요?",
                                                   "session_id": first["session_id"]}, timeout=30).json()
    assert second["standalone_question"] == STANDALONE
    assert second["usage"]["llm_requests"] == 2  # condense + answer
    condense, answer = stub.requests
    assert "그럼 2년 넘게 쓰면요?" in condense["messages"][1]["content"]
    # the answer sees the earlier turn (without its [n] markers), then the sources
    roles = [m["role"] for m in answer["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert answer["messages"][2]["content"] == "위약금은 46,000원입니다. 무약정은 없습니다."


def test_endpoint_failure_falls_back_to_extractive_with_a_notice(server, stub):
    stub.fail_next(500, times=1)
    done = _stream(server, {"question": "장비 반납은 어떻게 하나요?"})[-1][1]
    assert done["mode"] == "extractive" and "LLM unavailable" in done["notice"] and done["answer"]


def test_a_cached_answer_streams_after_its_sources_without_asking_the_endpoint(built_store, stub, tmp_path):
    """The cache is looked up after the `sources` event went out; a hit answers in full
    (mode llm, cached) and the endpoint is not asked again."""
    from query.answer.cache import AnswerCache

    _, settings = built_store
    settings = make_settings(settings.storage_dir, openai_base_url=stub.base_url, openai_api_key="test",
                             llm_max_retries=0, llm_timeout=10)
    engine = load(settings, None)
    engine.cache = AnswerCache(tmp_path / "answers.sqlite", settings.cache_similarity)
    sessions = SessionStore(tmp_path / "sessions.sqlite")
    question = {"question": "로밍 일일 요금제는 일본에서 얼마인가요?"}
    with serve(create_app(engine, sessions)) as url:
        first = _stream(url, question)
        asked = len(stub.requests)
        again = _stream(url, question)
    assert [k for k, _ in again][0] == "sources" and again[-1][0] == "done"
    assert again[0][1]["sources"] == first[0][1]["sources"]
    done = again[-1][1]
    assert done["mode"] == "llm" and done["cached"] is True and done["cache"] == "exact"
    assert done["answer"] == first[-1][1]["answer"] and done["usage"]["llm_requests"] == 0
    assert len(stub.requests) == asked
