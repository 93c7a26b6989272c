"""One exchange (question -> sources -> tokens -> done), for every endpoint of the server.

`/api/ask`, `/api/ask/stream` and `/v1/chat/completions` all run `Desk.exchange`, and
every finished exchange goes through `Desk.on_exchange`, the one place that records it:
the session's turn and the query log, both redacted (query.pii) with the user the access
control named. The answer the agent sees is never redacted; only what is stored or sent out.

Concurrency: the CPU parts (rewrite rule, retrieval, extractive answer) run in worker
threads via `anyio.to_thread`; the LLM calls are awaited on the event loop with the async
client, so no thread and no lock is held while a model thinks, and a cancelled exchange
(the client disconnected) closes its request to the endpoint.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio

from core.llm import Usage, achat, achat_stream, make_async_client
from core.settings import RetrievalMode
from query.answer.conversation import condense_messages, history_messages, rule_rewrite
from query.answer.engine import Done, Engine, LLMReply, NeedsLLM, SourcesReady
from query.answer.question_vectors import QuestionVectors
from query.contract import Answer, Event, Mode
from query.ops.querylog import QueryLog
from query.answer.retrieve import Filters
from query.desk.sessions import SessionStore


@dataclass
class Stats:
    """Counters `/api/health` shows (and tests read): finished and cancelled exchanges."""

    done: int = 0
    cancelled: int = 0
    in_flight: int = 0


class Desk:
    def __init__(self, engine: Engine, sessions: SessionStore, querylog: QueryLog | None = None) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.sessions = sessions
        self.querylog = querylog
        self.aclient = make_async_client(self.settings) if self.settings.llm_configured else None
        self.stats = Stats()
        # CPU work (retrieval, extractive answers, rewriting) runs at most one per core at a
        # time; the rest wait their turn. Why: that work mostly holds the GIL, and eight
        # retrievals run side by side share it round-robin, so all eight finish late (time to
        # the `sources` event p50 396 / p95 418 ms with 8 conversations); in turn, each takes
        # its own ~25-50 ms and the queue drains in order. LLM calls never wait here: they
        # are awaited on the event loop, outside this limiter.
        self.cpu = anyio.CapacityLimiter(os.cpu_count() or 1)
        self.vectors = QuestionVectors(engine.retriever.embed_model, self.cpu)

    async def rewrite(self, question: str, history: list[dict], usage: Usage, use_llm: bool) -> str:
        """The standalone question retrieval and the answer use (the question itself on a first turn)."""
        if not history:
            return question
        previous = next((m["content"] for m in reversed(history) if m["role"] == "user"), None)
        if use_llm and self.aclient is not None and self.settings.condense_llm:
            try:
                text = await achat(self.aclient, self.settings, condense_messages(history, question), usage,
                                   max_tokens=200)
                text = text.strip().strip('"').strip()
                if text:
                    return text
            except Exception:  # noqa: BLE001 - the rule below still makes the follow-up usable
                pass
        return await anyio.to_thread.run_sync(rule_rewrite, question, previous, limiter=self.cpu)

    async def exchange(
        self, question: str, *, turns: list[dict], top_k: int | None = None, filters: Filters | None = None,
        use_llm: bool = True, qid: str | int | None = None,
    ) -> AsyncIterator[tuple[Event, dict | Answer]]:
        """Yield ("sources", {...}), ("token", {"text"}) ..., then ("done", Answer).

        `turns` are the conversation's earlier turns ({question, rewritten?, answer}). The
        answering steps are the engine's `answer_flow` (the CLI drives the same steps
        synchronously); this driver runs each step in a worker thread and awaits the LLM.
        """
        started = time.perf_counter()
        usage = Usage()
        self.stats.in_flight += 1
        try:
            history = (await anyio.to_thread.run_sync(
                history_messages, turns, self.settings.history_tokens, self.settings.llm_model, limiter=self.cpu)
                if turns else [])
            standalone = await self.rewrite(question, history, usage, use_llm)
            vector = (await self.vectors.vector(standalone)
                      if self.settings.retrieval_mode != RetrievalMode.LEXICAL else None)
            flow = self.engine.answer_flow(question, standalone=standalone, qid=qid, top_k=top_k, filters=filters,
                                           use_llm=use_llm, usage=usage, history=history, started=started,
                                           embedding=vector)
            step = await anyio.to_thread.run_sync(next, flow, limiter=self.cpu)
            assert isinstance(step, SourcesReady)
            answer = step.prepared.answer
            yield "sources", {"sources": [s.model_dump(mode="json") for s in answer.sources],
                              "standalone_question": standalone, "retrieve_ms": answer.latency.retrieve_ms}
            step = await anyio.to_thread.run_sync(flow.send, None, limiter=self.cpu)
            pieces: list[str] = []
            if isinstance(step, NeedsLLM):
                reply = LLMReply()
                try:
                    async for piece in achat_stream(self.aclient, self.settings, step.messages, step.usage):
                        pieces.append(piece)
                        yield "token", {"text": piece}
                    reply.text = "".join(pieces)
                except anyio.get_cancelled_exc_class():
                    raise
                except Exception as exc:  # noqa: BLE001 - endpoint failing: extractive answer + notice
                    reply.error = exc
                step = await anyio.to_thread.run_sync(flow.send, reply, limiter=self.cpu)
            assert isinstance(step, Done)
            final = step.answer
            if not pieces or final.mode == Mode.EXTRACTIVE:
                # after a failure mid-answer the extractive answer replaces what was streamed
                yield "token", {"text": final.answer, "replace": bool(pieces)}
            final.exchange_id = uuid.uuid4().hex
            self.stats.done += 1
            yield "done", final
        except (GeneratorExit, anyio.get_cancelled_exc_class()):
            self.stats.cancelled += 1  # the client went away: the LLM request was closed with it
            raise
        finally:
            self.stats.in_flight -= 1

    async def record(self, result: Answer, *, session_id: str | None, user: str | None, rewritten: str,
                     new_session: bool = False) -> None:
        """`on_exchange` off the event loop: redacting and committing a turn is a few ms of
        work that would otherwise hold up every other conversation's events."""
        await anyio.to_thread.run_sync(
            lambda: self.on_exchange(result, session_id=session_id, user=user, rewritten=rewritten,
                                     new_session=new_session))

    def on_exchange(self, result: Answer, *, session_id: str | None, user: str | None, rewritten: str,
                    new_session: bool = False) -> None:
        """Every finished exchange passes here once, whichever endpoint served it.

        The session store and the query log redact what they write; `result` itself (what
        the agent is shown) is left as it is. The log write is a queue put (its own thread).
        `new_session`: the session's row is written now, with its first turn.
        """
        if session_id is not None:
            self.sessions.add_turn(session_id, result.exchange_id, result.question, rewritten, result,
                                   create=new_session, user=user)
        if self.querylog is not None:
            self.querylog.record_exchange(result, user=user or "", session_id=session_id or "",
                                          rewritten=rewritten, exchange_id=result.exchange_id)
