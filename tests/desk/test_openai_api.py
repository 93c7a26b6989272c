"""The OpenAI-compatible endpoint, driven by the real `openai` client."""

import re

import httpx
import openai
import pytest

from query.desk.server import create_app
from query.desk.sessions import SessionStore
from tests.live_server import serve


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    sessions = SessionStore(tmp_path_factory.mktemp("oa-sessions") / "sessions.sqlite")
    with serve(create_app(engine, sessions)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server + "/v1", api_key="unused", max_retries=0, timeout=30)


def test_models_lists_manual_qa(client):
    assert [m.id for m in client.models.list()] == ["manual-qa"]


def test_plain_completion_has_markers_links_and_structured_sources(client, server):
    reply = client.chat.completions.create(
        model="manual-qa", messages=[{"role": "user", "content": "How much does the daily roaming pass cost?"}])
    text = reply.choices[0].message.content
    assert re.search(r"\[\d\]", text.split("Sources:")[0]), text
    assert "11,000 KRW" in text
    assert f"- [1] [Roaming guide › Daily pass]({server}/manuals/en/guide.html.en#daily)" in text, text
    sources = reply.model_extra["sources"]
    assert sources[0]["path"] == "en/guide.html.en" and sources[0]["url"].startswith(server + "/manuals/")
    assert reply.usage.total_tokens == 0  # extractive: no model was paid for


def test_streaming_completion_carries_the_same_answer(client):
    question = [{"role": "user", "content": "How much does the daily roaming pass cost?"}]
    stream = client.chat.completions.create(model="manual-qa", messages=question, stream=True)
    pieces, sources = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.model_extra.get("sources"):
            sources = chunk.model_extra["sources"]
    plain = client.chat.completions.create(model="manual-qa", messages=question).choices[0].message.content
    assert "".join(pieces) == plain
    assert sources and sources[0]["path"] == "en/guide.html.en"


def test_two_turn_conversation_answers_the_anaphoric_follow_up(client):
    first = [{"role": "user", "content": "인터넷 해지 위약금은 얼마인가요?"}]
    answer = client.chat.completions.create(model="manual-qa", messages=first).choices[0].message.content
    follow = first + [{"role": "assistant", "content": answer}, {"role": "user", "content": "그럼 2년 넘게 쓰면요?"}]
    reply = client.chat.completions.create(model="manual-qa", messages=follow)
    assert reply.model_extra["sources"][0]["path"] == "billing/cancel.html"
    assert "해지" in reply.model_extra["manual_qa"]["standalone_question"]
    assert "46,000원" in reply.choices[0].message.content


def test_bad_requests_get_openai_style_errors(client, server):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="manual-qa", messages=[{"role": "assistant", "content": "hi"}])
    assert "last message" in str(err.value)
    response = httpx.post(server + "/v1/chat/completions", json={"messages": []}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
