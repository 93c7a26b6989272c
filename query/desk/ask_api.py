"""Asking: `POST /api/ask` (the whole answer), `POST /api/ask/stream` (server-sent events),
`GET /api/health`.

A question without `session_id` starts a conversation whose id comes back with the answer;
its row is stored with the first turn (query.desk.sessions), never before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from query.answer.retrieve import Filters
from query.contract import Answer
from query.desk.auth import current_user
from query.desk.desk import Desk
from query.desk.errors import UnknownSession, check_question
from query.desk.links import href, with_hrefs
from query.desk.streaming import SSE_HEADERS, sse

router = APIRouter(prefix="/api", tags=["ask"])


class AskRequest(BaseModel):
    question: str = Field(description="The agent's question (a follow-up when session_id is given)")
    top_k: Annotated[int | None, Field(ge=1, le=50)] = None
    lang: str | None = Field(None, description="Only manuals in this language (ko, en)")
    under: str | None = Field(None, description="Only manuals under this folder, e.g. mobile/")
    id: str | int | None = Field(None, description="Echoed back as `id`")
    session_id: str | None = Field(None, description="Continue this conversation; omitted = start a new one")
    use_llm: bool = True

    @property
    def filters(self) -> Filters:
        return Filters(lang=self.lang or None, under=self.under or None)


class Conversation(BaseModel):
    """The session an exchange belongs to: an existing one with its turns, or a new id."""

    session_id: str
    turns: list[dict]
    new: bool


def _desk(request: Request) -> Desk:
    return request.app.state.desk


def open_session(desk: Desk, session_id: str | None, user: str) -> Conversation:
    if session_id is None:
        return Conversation(session_id=desk.sessions.new_id(), turns=[], new=True)
    try:
        turns = desk.sessions.turns(session_id, user or None)
    except UnknownSession:
        raise UnknownSession(session_id, ": start a new one without session_id") from None
    return Conversation(session_id=session_id, new=False,
                        turns=[{"question": t["question"], "rewritten": t["rewritten"], "answer": t["answer"]}
                               for t in turns])


# A load balancer's or orchestrator's probe carries no key: it gets `/healthz` (no counters,
# nothing about the manuals) outside the guarded /api/ and /v1/ prefixes. `/api/health`
# with its counters stays behind the keys.
probe = APIRouter()


@probe.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> dict:
    """Liveness and readiness: 200 once an index generation is loaded and answering."""
    return {"ok": True, "generation": _desk(request).engine.live.generation.number}


@router.get("/health")
def health(request: Request) -> dict:
    desk = _desk(request)
    stats = desk.stats
    return {"ok": True, "chunks": desk.engine.retriever.collection.count(),
            "mode": "llm" if desk.aclient else "extractive",
            "in_flight": stats.in_flight, "done": stats.done, "cancelled": stats.cancelled}


@router.post("/ask", response_model=Answer)
async def ask(body: AskRequest, request: Request, user: str = Depends(current_user)) -> Answer:
    """The whole answer at once: the answer contract plus `session_id` and `exchange_id`."""
    desk = _desk(request)
    question = check_question(body.question, desk.settings.max_question_chars)
    conversation = await anyio.to_thread.run_sync(open_session, desk, body.session_id, user)
    final: Answer | None = None
    async for kind, data in desk.exchange(question, turns=conversation.turns, top_k=body.top_k,
                                          filters=body.filters, use_llm=body.use_llm, qid=body.id):
        if kind == "done":
            final = data
    assert final is not None
    final.session_id = conversation.session_id
    await desk.record(final, session_id=conversation.session_id, user=user, new_session=conversation.new,
                      rewritten=final.standalone_question or question)
    return with_hrefs(final)


@router.post("/ask/stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "sources, token..., done | error"}})
async def ask_stream(body: AskRequest, request: Request, user: str = Depends(current_user)) -> StreamingResponse:
    """Server-sent events: `sources` (within retrieval time), `token`*, then `done` with the
    full answer; `error` if something fails. Disconnecting cancels the LLM request.

    Validated before the stream starts, so bad input still gets a plain 4xx JSON error."""
    desk = _desk(request)
    question = check_question(body.question, desk.settings.max_question_chars)
    conversation = await anyio.to_thread.run_sync(open_session, desk, body.session_id, user)

    async def events() -> AsyncIterator[str]:
        try:
            async for kind, data in desk.exchange(question, turns=conversation.turns, top_k=body.top_k,
                                                  filters=body.filters, use_llm=body.use_llm, qid=body.id):
                if kind == "sources":
                    data["session_id"] = conversation.session_id
                    for source in data["sources"]:
                        source["href"] = href(source["url"])
                elif kind == "done":
                    data.session_id = conversation.session_id
                    await desk.record(data, session_id=conversation.session_id, user=user,
                                      new_session=conversation.new, rewritten=data.standalone_question or question)
                    data = with_hrefs(data).contract()
                yield sse(kind, data)
        except Exception as exc:  # noqa: BLE001 - the stream has started: report in-band
            yield sse("error", {"error": f"{type(exc).__name__}: {exc}"})

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)
