"""OpenAI-compatible chat API: `POST /v1/chat/completions` (plain and stream) and `GET /v1/models`.

Open WebUI, LibreChat, or any script with the `openai` client can use manual-qa as a model.
The request's message history is the conversation (no server session): earlier user and
assistant messages become the turns the follow-up is rewritten against. The reply carries
`[n]` markers and a "Sources" list of markdown links; the structured sources travel in the
response too (`sources`, and the whole answer contract in `manual_qa`), which the `openai`
client keeps as extra fields.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from query.contract import Answer, Source
from query.desk.auth import current_user
from query.desk.errors import BadRequest, check_question
from query.desk.streaming import SSE_HEADERS, sse_data

MODEL_ID = "manual-qa"
SOURCES_HEADING = "Sources:"

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    # Clients send temperature, max_tokens, user...: accepted and ignored (the answer's
    # settings are the server's), rather than refused.
    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: str | None = None


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return content or ""


def conversation(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """(the last user message, earlier turns as {question, answer})."""
    if messages[-1].role != "user" or not _text(messages[-1].content).strip():
        raise BadRequest("the last message must be a non-empty user message (the question)")
    turns: list[dict] = []
    for message in messages[:-1]:
        text = _text(message.content)
        if message.role == "user":
            turns.append({"question": text, "answer": ""})
        elif message.role == "assistant" and turns:
            # Our own earlier replies end with the sources list: the history needs the answer.
            turns[-1]["answer"] = text.split("\n\n" + SOURCES_HEADING, 1)[0]
    return _text(messages[-1].content).strip(), turns


def absolute_sources(answer: Answer, base: str) -> list[Source]:
    return [source.model_copy(update={"url": source.url if "://" in source.url
                                      else base.rstrip("/") + "/manuals/" + source.url})
            for source in answer.sources]


def sources_markdown(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = [f"- [{s.rank}] [{s.heading or s.title or s.url}]({s.url})" for s in sources]
    return "\n\n" + SOURCES_HEADING + "\n" + "\n".join(lines)


def _usage(answer: Answer) -> dict:
    prompt, completion = answer.usage.input_tokens, answer.usage.output_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.get("/models")
def models() -> dict:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "manual-qa"}]}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    # The authenticated user when access control is on; else what the client says it is.
    user = current_user(request) or (body.user or "")
    desk = request.app.state.desk
    question, turns = conversation(body.messages)
    question = check_question(question, desk.settings.max_question_chars)
    base = str(request.base_url)
    created = int(time.time())
    events = desk.exchange(question, turns=turns)

    def finish(result: Answer) -> list[dict]:
        desk.on_exchange(result, session_id=None, user=user, rewritten=result.standalone_question or question)
        result.sources = absolute_sources(result, base)
        return [source.model_dump(mode="json") for source in result.sources]

    if not body.stream:
        final: Answer | None = None
        async for kind, data in events:
            if kind == "done":
                final = data
        assert final is not None
        sources = finish(final)
        return {
            "id": "chatcmpl-" + final.exchange_id, "object": "chat.completion", "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": final.answer + sources_markdown(final.sources)}}],
            "usage": _usage(final), "sources": sources, "manual_qa": final.contract(),
        }

    async def stream() -> AsyncIterator[str]:
        chunk_id = "chatcmpl-stream"

        def chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
            data = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return sse_data(data)

        yield chunk({"role": "assistant", "content": ""})
        try:
            async for kind, data in events:
                if kind == "token":
                    text = data["text"]
                    if data.get("replace"):  # the LLM failed mid-answer: what follows replaces it
                        text = "\n\n---\n" + text
                    yield chunk({"content": text})
                elif kind == "done":
                    sources = finish(data)
                    if data.notice:
                        yield chunk({"content": f"\n\n({data.notice})"})
                    yield chunk({"content": sources_markdown(data.sources)})
                    yield chunk({}, "stop", sources=sources, manual_qa=data.contract())
                    if (body.stream_options or {}).get("include_usage"):
                        usage = {"id": chunk_id, "object": "chat.completion.chunk", "created": created,
                                 "model": MODEL_ID, "choices": [], "usage": _usage(data)}
                        yield sse_data(usage)
        except Exception as exc:  # noqa: BLE001 - mid-stream: an OpenAI-style error object
            yield sse_data({"error": {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}})
        yield sse_data("[DONE]")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)
