"""Faults at the desk: a broken LLM endpoint, hostile or odd requests, dropped clients,
bursts, SIGTERM under load, personal data. The server runs as `python -m query.server` in
its own process, as in production (a module imported as `__main__` once hid an error class
from its own handler), against a scripted OpenAI-compatible stub on loopback."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ingest.run import ingest
from tests.helpers import FIXTURES, ROOT, make_settings
from tests.openai_stub import StubOpenAI
from tests.servers import _stop, env, free_port, wait_http

QUESTION = "인터넷 해지 위약금은 얼마인가요?"
SERVER_ENV = dict(OPENAI_API_KEY="test", LLM_TIMEOUT="2", LLM_MAX_RETRIES="0", QUERY_LOG="true",
                  LLM_MODEL="gpt-4o-mini")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The fixture manuals' store for these desks (they write sessions and a query log into it).
    Built in this process, whose models are loaded already: the desk under test is the process."""
    base = tmp_path_factory.mktemp("faults-desk")
    assert ingest([FIXTURES], make_settings(base / "storage"), progress=False).files.failed == 0
    return base / "storage"


@contextmanager
def desk_process(storage: Path, **extra: str):
    """`python -m query.server` on a free port; yields (url, process)."""
    port = free_port()
    log = open(storage.parent / f"server-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(port)],
                            cwd=ROOT, env=env(**extra), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", proc, 180)  # the page is open whatever the access settings
        yield url, proc
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def desk(store):
    with StubOpenAI() as stub:
        stub.reply_with(lambda body: "위약금은 사용 기간에 따라 다릅니다 [1].")
        with desk_process(store, OPENAI_BASE_URL=stub.base_url, **SERVER_ENV) as (url, _):
            with httpx.Client(base_url=url, timeout=60) as client:
                yield client, stub, store


def _ask(client: httpx.Client, question: str = QUESTION, **body) -> httpx.Response:
    return client.post("/api/ask", json={"question": question, **body})


def _sessions(client: httpx.Client) -> int:
    response = client.get("/api/sessions")
    assert response.status_code == 200
    return len(response.json()["sessions"] if isinstance(response.json(), dict) else response.json())


# --- the LLM endpoint fails: the agent still gets the manual's answer ------------------------

def _assert_fallback(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    answer = response.json()
    assert not answer["cached"], "each case asks a question of its own: a cached answer proves nothing"
    assert answer["mode"] == "extractive" and answer["notice"], answer
    assert answer["sources"] and "[1]" in answer["answer"]


def test_llm_endpoint_500(desk):
    """LLM endpoint answers 500: 200 with the extractive answer and a notice."""
    client, stub, _ = desk
    stub.fail_next(500)
    _assert_fallback(_ask(client, "별빛 인터넷 월 요금표 보여주세요"))


def test_llm_endpoint_slow(desk):
    """LLM endpoint slower than LLM_TIMEOUT: 200 with the extractive answer and a notice."""
    client, stub, _ = desk
    stub.delay_next(6)
    _assert_fallback(_ask(client, "How do I check my data balance while roaming?"))


def test_llm_endpoint_garbage(desk):
    """LLM endpoint answers 200 with a page that is not JSON: extractive answer and a notice."""
    client, stub, _ = desk
    stub.garbage_next()
    _assert_fallback(_ask(client, "설치 일정은 어떻게 잡나요?"))


def test_llm_endpoint_down(desk):
    """LLM endpoint down (connection refused): extractive answer and a notice."""
    client, stub, _ = desk
    port = int(stub.base_url.rsplit(":", 1)[1].split("/")[0])
    stub.stop()
    try:
        _assert_fallback(_ask(client, "Which remote control shortcut does what?"))
    finally:
        stub.start(port)


# --- input the server can reject: a 4xx in the surface's own shape, never a 500 -------------

V1_BAD = {
    "empty content": {"messages": [{"role": "user", "content": ""}]},
    "blank content": {"messages": [{"role": "user", "content": "   "}]},
    "null content": {"messages": [{"role": "user", "content": None}]},
    "only a system message": {"messages": [{"role": "system", "content": "You are helpful."}]},
    "10,000-character question": {"messages": [{"role": "user", "content": "요금 " * 5000}]},
    "no messages": {"messages": []},
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("case", list(V1_BAD))
def test_v1_rejects_bad_messages_with_4xx(desk, case, stream):
    """/v1/chat/completions input errors: 400 in OpenAI's error shape (plain and stream)."""
    client, _, _ = desk
    response = client.post("/v1/chat/completions", json={"model": "manual-qa", "stream": stream, **V1_BAD[case]})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "message" in response.json()["error"]


def test_lone_surrogate_question_is_400_and_leaves_no_session(desk):
    """A lone surrogate in the JSON question: 400, and no empty session is left behind."""
    client, _, _ = desk
    before = _sessions(client)
    response = client.post("/api/ask", content=b'{"question": "\\ud800 abc"}',
                           headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert _sessions(client) == before


def test_null_byte_in_manual_path_is_4xx(desk):
    """/manuals/index.html%00.pdf: a 4xx, never a 500."""
    client, _, _ = desk
    for path in ("/manuals/index.html%00.pdf", "/manuals/%00", "/manuals/..%2f..%2fetc%2fpasswd"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)


def test_invalid_json_and_wrong_types_are_4xx(desk):
    """Broken JSON, wrong types, huge top_k: 4xx with a message."""
    client, _, _ = desk
    for body in (b"{", b'{"question": 5}', b'{"question": "x", "top_k": 100000}', b"[]", b'"text"'):
        response = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text[:200])


# --- clients that go away, bursts, shutdown --------------------------------------------------

def test_dropped_stream_clients_leave_no_empty_sessions(desk):
    """SSE clients that disconnect at once: no empty session left behind, server keeps serving."""
    client, stub, _ = desk
    before = _sessions(client)
    stub.delay_next(1.0, times=10)
    for _ in range(10):
        with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as response:
            assert response.status_code == 200
            next(response.iter_lines())  # the first line, then hang up
    time.sleep(1.5)
    assert _sessions(client) == before
    assert _ask(client, use_llm=False).status_code == 200


def test_200_concurrent_questions(desk):
    """200 questions at once (extractive): every one answered 200 with sources."""
    client, _, _ = desk
    questions = [f"{QUESTION} ({i})" if i % 2 else "How do I cancel my internet contract?" for i in range(200)]

    def one(question: str) -> int:
        with httpx.Client(base_url=str(client.base_url), timeout=180) as own:
            response = own.post("/api/ask", json={"question": question, "use_llm": False})
            return response.status_code if response.status_code != 200 or response.json()["sources"] else -1

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(one, questions))
    assert statuses.count(200) == 200, {s: statuses.count(s) for s in set(statuses)}


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.guards_data
def test_sigterm_under_load(store, tmp_path):
    """SIGTERM while 16 questions are in flight: answers finish or the client is refused, no 500, clean exit, databases intact.

    uvicorn shuts down gracefully and then re-raises the signal it caught, so a clean exit is
    0 or -SIGTERM; a hang (killed after 60 s) or a traceback is not."""
    with StubOpenAI() as stub:
        stub.default_delay = 2.0  # every answer is still being written when the signal comes
        with desk_process(store, OPENAI_BASE_URL=stub.base_url, **SERVER_ENV) as (url, proc):
            def one(i: int):
                try:
                    return httpx.post(url + "/api/ask", json={"question": f"{QUESTION} {i}"}, timeout=60).status_code
                except httpx.HTTPError as exc:  # refused after the listener closed: acceptable
                    return type(exc).__name__

            with ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(one, i) for i in range(16)]
                deadline = time.monotonic() + 60
                while len(stub.requests) < 4 and time.monotonic() < deadline:
                    time.sleep(0.05)  # SIGTERM once answers are in flight (waiting for the LLM)
                proc.send_signal(signal.SIGTERM)
                results = [f.result() for f in futures]
            assert proc.wait(60) in (0, -signal.SIGTERM)
    assert 500 not in results and any(r == 200 for r in results), results
    for name in ("sessions.sqlite", "querylog.sqlite"):
        if (store / name).exists():
            assert _integrity(store / name) == "ok"


# --- personal data never stored or sent ------------------------------------------------------

PII = {
    "resident number in Korean numerals": ("팔오공일공칠-일칠칠오삼삼일", "8501071775331"),
    "full-width phone": ("０１０－２２３６－０６７９", "01022360679"),
    "phone in Korean numerals": ("공일공-이육사오-칠칠일일", "01026457711"),
    "phone in mixed numerals and look-alike letters": ("공1공-3O5O-6789", "01030506789"),
    "phone split across two lines": ("010-2236-\n0679", "01022360679"),
    "card split across two lines": ("4111 1111 1111\n1111", "4111111111111111"),
    "card in Korean numerals": ("사일일일 일일일일 일일일일 일일일일", "4111111111111111"),
}


def _numbers(text: str) -> set[str]:
    """Every run of digits with the separators a number is written with, separators dropped."""
    return {re.sub(r"\D", "", run) for run in re.findall(r"\d[\d \-\n]{6,}\d", text)}


def _holds(text: str, raw: str, digits: str) -> bool:
    return raw in text or any(digits in number for number in _numbers(text))


@pytest.mark.parametrize("case", list(PII))
def test_personal_data_is_not_stored_or_sent(desk, case):
    """PII in the forms callers read out: absent from the log, sessions, answer cache and LLM requests."""
    client, stub, storage = desk
    raw, digits = PII[case]
    seen = len(stub.requests)
    response = _ask(client, f"고객 번호 {raw} 입니다. 위약금은 얼마인가요?")
    assert response.status_code == 200
    time.sleep(1.0)  # the query log writes on a background thread
    outbound = "\n".join(m.get("content") or "" for r in stub.requests[seen:] for m in r.get("messages", []))
    assert not _holds(outbound, raw, digits), "sent to the LLM"
    for db in list(storage.glob("*.sqlite*")) + list((storage / "cache").glob("*.sqlite*")):
        assert not _holds(db.read_bytes().decode("utf-8", "replace"), raw, digits), f"stored in {db.name}"


# --- untrusted manuals and untrusted clients --------------------------------------------------

def test_manual_pages_are_served_without_script(desk):
    """A manual page is served sandboxed: no script of a manual runs with the desk's origin."""
    client, _, _ = desk
    response = client.get("/manuals/billing/cancel.html")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture(scope="module")
def proxied_desk(store):
    """A desk that believes X-Forwarded-User only from the proxy at 127.0.0.2."""
    with desk_process(store, AUTH_USER_HEADER="X-Forwarded-User", TRUSTED_PROXIES="127.0.0.2/32",
                      QUERY_LOG="true") as (url, _):
        yield url


def _from(address: str, url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, transport=httpx.HTTPTransport(local_address=address))


def test_user_header_from_an_untrusted_address_is_refused(proxied_desk):
    """AUTH_USER_HEADER from an address not in TRUSTED_PROXIES: 403, the user is not believed."""
    with _from("127.0.0.1", proxied_desk) as direct:
        response = direct.post("/api/ask", json={"question": QUESTION, "use_llm": False},
                               headers={"X-Forwarded-User": "kim"})
    assert response.status_code == 403, response.text


@pytest.mark.guards_data
def test_feedback_only_on_ones_own_exchange(proxied_desk):
    """Feedback on another user's exchange: 404 like an unknown id; the owner's own is stored."""
    with _from("127.0.0.2", proxied_desk) as proxy:
        asked = proxy.post("/api/ask", json={"question": QUESTION, "use_llm": False}, headers={"X-Forwarded-User": "kim"})
        assert asked.status_code == 200
        exchange = asked.json()["exchange_id"]
        time.sleep(1.0)  # the log writes on a background thread
        other = proxy.post("/api/feedback", json={"exchange_id": exchange, "rating": "down"},
                           headers={"X-Forwarded-User": "lee"})
        assert other.status_code == 404, other.text
        own = proxy.post("/api/feedback", json={"exchange_id": exchange, "rating": "up"},
                         headers={"X-Forwarded-User": "kim"})
        assert own.status_code == 201, own.text
