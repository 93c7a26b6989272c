"""Question -> `Answer` (query.answer.contract): the steps of answering, once.

With an LLM configured the answer is generated from the sources; without one, or when the
endpoint fails, it is extractive (with a visible notice in the failure case). Both modes
always return the sources the `[n]` markers refer to.

The steps (prepare -> cache lookup -> LLM -> complete) are written once, in `answer_flow`;
the synchronous driver here (CLI, evaluation) and the desk's async one (query.desk.desk)
only differ in how they run a step and call the LLM.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from core.chunk_record import (
    ANCHOR, FILE_TYPE, HEADING, KIND, KIND_TEXT, LANG, LOCATION, PATH, TITLE, attachments, chunk_body, linked_from,
)
from core.llm import Usage, chat, chat_stream, make_client
from core.settings import Settings
from core.store import get_storage
from query.contract import Answer, AnswerUsage, CacheKind, Intent, Latency, LinkedFrom, Mode, Source, Status
from query.answer.cache import AnswerCache, sources_signature
from query.answer.embed_cache import CachedEmbedding
from query.answer.extractive import extractive_answer
from query.answer.fields import load_profile
from query.answer.generate import PROMPT_VERSION, build_messages, says_not_covered, validate_citations
from query.answer.live import LiveIndex
from query.answer.retrieve import Filters, HybridRetriever, Retrieval
from query.answer.sections import Section
from query.answer.smalltalk import smalltalk_reply
from query.answer.words import load_words

SNIPPET_CHARS = 240


NO_MATCH_ANSWER = "No manual section matches this question."


def source_url(path: str, anchor: str, base_url: str) -> str:
    """`path#anchor` under BASE_URL when set; otherwise relative to the ingested root."""
    target = quote(path) + (f"#{anchor}" if anchor else "")
    if base_url:
        return base_url.rstrip("/") + "/" + target
    return target


def _snippet(text: str) -> str:
    body = " ".join(chunk_body(text).split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1] + "…"


def sources_of(sections: list[Section], settings: Settings) -> list[Source]:
    out = []
    for rank, section in enumerate(sections, start=1):
        meta = section.metadata
        anchor = meta.get(ANCHOR) or None
        out.append(Source(
            rank=rank,
            title=meta.get(TITLE, ""),
            heading=meta.get(HEADING, ""),
            path=meta.get(PATH, ""),
            anchor=anchor,
            url=source_url(meta.get(PATH, ""), anchor or "", settings.base_url),
            score=round(section.score, 6),
            kind=meta.get(KIND, KIND_TEXT),
            lang=meta.get(LANG, ""),
            snippet=_snippet(section.best.get_content()),
            attachments=attachments(meta),
            file_type=meta.get(FILE_TYPE) or None,
            location=meta.get(LOCATION) or None,
            linked_from=[LinkedFrom(path=link.get("path", ""), anchor=link.get("anchor") or None,
                                    url=source_url(link.get("path", ""), link.get("anchor") or "", settings.base_url),
                                    heading=link.get("heading", ""), title=link.get("title", ""), text=link.get("text", ""))
                         for link in linked_from(meta)],
            also=list(section.also),  # near-duplicate sections grouped under this one
        ))
    return out


@dataclass
class Prepared:
    """An answer after retrieval, before generation: what the `sources` event carries.

    Split out so the synchronous path (CLI, evaluation) and the server's async path
    (LLM awaited on the event loop, cancellable) share every step but the LLM call.
    """

    answer: Answer
    usage: Usage
    started: float
    generate_started: float = 0.0
    # What retrieval found and read on the way (the question's vector, the corpus's names for
    # its words, what it asks for); empty for small talk, which retrieves nothing.
    retrieval: Retrieval = field(default_factory=Retrieval)
    signature: str | None = None
    reply: str | None = None  # an answer known without generation (small talk, cache hit)
    history: list[dict] = field(default_factory=list)

    @property
    def sections(self) -> list[Section]:
        return self.retrieval.sections

    @property
    def question(self) -> str:
        """The question retrieval and the answer use (the standalone one for a follow-up)."""
        return self.answer.standalone_question or self.answer.question

    @property
    def wants_llm(self) -> bool:
        return self.reply is None and self.signature is not None


@dataclass
class SourcesReady:
    """Flow step: retrieval is done; the driver may show the sources now."""

    prepared: Prepared


@dataclass
class NeedsLLM:
    """Flow step: the driver asks the LLM these messages and sends back an `LLMReply`.
    The LLM call adds its tokens and cost to `usage` (the answer's)."""

    messages: list[dict]
    usage: Usage


@dataclass
class LLMReply:
    text: str | None = None
    error: Exception | None = None


@dataclass
class Done:
    answer: Answer


FlowStep = SourcesReady | NeedsLLM | Done


class Engine:
    """Loads models and indexes once; answers many questions (CLI batch, API, eval).

    Safe to call from many threads at once (the API server does, without a global lock):
    the retriever's shared objects are read-only after loading but for results it
    remembers in thread-safe ways (see `query.desk.server` for the audit), the answer cache
    serialises its SQLite access with its own lock, and the LLM clients are thread-safe
    httpx pools.
    """

    def __init__(self, settings: Settings, storage_dir: Path | None = None) -> None:
        self.settings = settings
        self.live = LiveIndex(settings, storage_dir)  # follows each published index generation
        # One process-wide model whatever the generation (core.embedding caches it).
        self.embed = CachedEmbedding(self.live.retriever.embed_model)
        self.client = make_client(settings) if settings.llm_configured else None
        self.profile = load_profile(settings.field_profile)  # a broken FIELD_PROFILE stops start-up
        self.words = load_words(settings.field_profile)  # its word lists (query.answer.words)
        storage = get_storage(settings, storage_dir)
        self.storage = storage
        self.cache = (
            AnswerCache(storage.answer_cache_db, settings.cache_similarity) if self.client else None
        )

    @property
    def retriever(self) -> HybridRetriever:
        return self.live.retriever

    @property
    def root(self) -> str | None:
        return self.live.retriever.info.get("root")

    def ask(
        self,
        question: str,
        qid: str | int | None = None,
        top_k: int | None = None,
        filters: Filters | None = None,
        use_llm: bool = True,
    ) -> Answer:
        """The whole answer at once."""
        final: Answer | None = None
        for event in self._events(question, qid, top_k, filters, use_llm, stream=False):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self, question: str, qid: str | int | None = None, top_k: int | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Yield answer text as it arrives, then the final `Answer` (same as `ask`)."""
        yield from self._events(question, qid, top_k, filters, True, stream=True)

    # steps -------------------------------------------------------------------------
    def answer_flow(
        self, question: str, *, standalone: str | None = None, qid: str | int | None = None,
        top_k: int | None = None, filters: Filters | None = None, use_llm: bool = True,
        usage: Usage | None = None, history: list[dict] | None = None, started: float | None = None,
        embedding: list[float] | None = None,
    ) -> Generator[FlowStep, LLMReply | None, None]:
        """The steps of one answer, written once for every driver.

        Yields `SourcesReady`, then `NeedsLLM` (only when an LLM is to be asked: the driver
        sends back an `LLMReply`), then `Done`. Each `next`/`send` runs CPU work (retrieval,
        the cache lookup, the extractive answer): the async driver runs it in a worker thread.
        `standalone`: the follow-up rewritten to stand alone (retrieval and the answer use it).
        """
        prepared = self.prepare(question, qid, top_k, filters, use_llm, usage, history, started, embedding,
                                standalone=standalone)
        yield SourcesReady(prepared)
        self.lookup(prepared)
        reply = LLMReply()
        if prepared.wants_llm:
            reply = (yield NeedsLLM(self.messages(prepared), prepared.usage)) or LLMReply()
        yield Done(self.complete(prepared, reply.text, reply.error))

    def prepare(
        self, question: str, qid: str | int | None = None, top_k: int | None = None,
        filters: Filters | None = None, use_llm: bool = True, usage: Usage | None = None,
        history: list[dict] | None = None, started: float | None = None, embedding: list[float] | None = None,
        standalone: str | None = None,
    ) -> Prepared:
        """Small talk, retrieval and the sources: what the `sources` event carries. Then
        `lookup` finds a cached answer, if any; the server sends the sources in between.

        `embedding`: the question's vector if already computed (see `query.desk.desk`)."""
        started = time.perf_counter() if started is None else started
        answer = Answer(id=qid, question=question,
                        standalone_question=standalone if standalone and standalone != question else None)
        prepared = Prepared(answer, usage or Usage(), started, history=list(history or []))
        text = prepared.question
        reply = smalltalk_reply(text, self.words.smalltalk)
        if reply is not None:
            answer.intent, answer.status = Intent.SMALLTALK, Status.SMALLTALK
            prepared.reply = reply
            prepared.generate_started = started
            return prepared
        # Retrieval runs on one index generation; what the rest of the answer needs (the
        # sections' texts, the sources) is read here, so a swap afterwards changes nothing.
        with self.live.use() as retriever:
            retrieval = retriever.retrieve(text, top_k, filters, embedding)
        prepared.retrieval = retrieval
        self.embed.remember_query(text, retrieval.query_embedding)
        answer.sources = sources_of(retrieval.sections, self.settings)
        answer.latency.retrieve_ms = round(retrieval.seconds * 1000, 1)
        if retrieval.dense_top is not None:
            answer.similarity = round(retrieval.dense_top, 4)
        answer.notice = retrieval.notice or None
        answer.status = self._retrieval_status(answer)
        if use_llm and self.client is not None and retrieval.sections:
            prepared.signature = sources_signature(retrieval.sections, self.settings.llm_model, PROMPT_VERSION)
        prepared.generate_started = time.perf_counter()
        return prepared

    def _retrieval_status(self, answer: Answer) -> Status:
        """no_match without sources; low_confidence when the nearest section is not close
        (cosine below LOW_CONFIDENCE_SIMILARITY); answered otherwise. The LLM may still
        say the manuals do not cover it (`complete`)."""
        if not answer.sources:
            return Status.NO_MATCH
        if answer.similarity is not None and answer.similarity < self.settings.low_confidence_similarity:
            return Status.LOW_CONFIDENCE
        return Status.ANSWERED

    def lookup(self, prepared: Prepared) -> Prepared:
        """A cached answer for these sources, when there is one (then no LLM is asked).

        After `prepare` rather than in it: the lookup (redacting the question, reading
        SQLite) is not needed for the sources, and in a burst of questions every
        millisecond before a `sources` event is one the others wait for as well."""
        # A follow-up's answer depends on the conversation, not only on the sources.
        if self.cache is None or prepared.signature is None or prepared.history or prepared.reply is not None:
            return prepared
        hit = self.cache.get(prepared.question, prepared.signature, prepared.retrieval.query_embedding)
        if hit is not None:
            prepared.reply = hit[0]
            prepared.answer.mode, prepared.answer.cached, prepared.answer.cache = Mode.LLM, True, CacheKind(hit[1])
            if says_not_covered(hit[0]):
                prepared.answer.status = Status.NO_MATCH
        return prepared

    def messages(self, prepared: Prepared) -> list[dict]:
        return build_messages(prepared.question, prepared.sections, prepared.history)

    def complete(self, prepared: Prepared, text: str | None, error: Exception | None = None) -> Answer:
        """Validate an LLM answer (or fall back to the extractive one) and close the answer.

        `text` is None when no LLM was asked; `error` is the LLM's failure, shown as a notice.
        """
        answer = prepared.answer
        if prepared.reply is not None:
            text = prepared.reply
        elif text is not None or error is not None:
            if error is not None:
                answer.notice = f"LLM unavailable ({type(error).__name__}: {error}); showing extractive answer"
                text = None
            elif not text.strip():
                answer.notice = "the LLM returned an empty answer; showing extractive answer"
                text = None
            else:
                answer.mode = Mode.LLM
                text, answer.removed_citations = validate_citations(text, len(prepared.sections))
                if says_not_covered(text):
                    answer.status = Status.NO_MATCH
                if self.cache is not None and prepared.signature and not prepared.history:
                    self.cache.put(prepared.question, prepared.signature, prepared.retrieval.query_embedding, text)
        if text is None:
            answer.mode = Mode.EXTRACTIVE
            text = self.extractive(prepared)
        answer.answer = text
        return self._finish(prepared)

    def extractive(self, prepared: Prepared) -> str:
        if prepared.sections:
            return extractive_answer(prepared.question, prepared.sections, self.embed, profile=self.profile,
                                     words=self.words, corpus_terms=prepared.retrieval.corpus_terms,
                                     kind=prepared.retrieval.kind)
        return NO_MATCH_ANSWER

    def _events(
        self, question: str, qid: str | int | None, top_k: int | None, filters: Filters | None,
        use_llm: bool, stream: bool,
    ) -> Iterator[str | Answer]:
        """The synchronous driver of `answer_flow`."""
        flow = self.answer_flow(question, qid=qid, top_k=top_k, filters=filters, use_llm=use_llm)
        step = next(flow)  # SourcesReady
        step = flow.send(None)
        streamed = False
        if isinstance(step, NeedsLLM):
            reply = LLMReply()
            try:
                if stream:
                    pieces = []
                    for piece in chat_stream(self.client, self.settings, step.messages, step.usage):
                        pieces.append(piece)
                        streamed = True
                        yield piece
                    reply.text = "".join(pieces)
                else:
                    reply.text = chat(self.client, self.settings, step.messages, step.usage)
            except Exception as exc:  # endpoint down or failing: never crash, never empty
                reply.error = exc
            step = flow.send(reply)
        assert isinstance(step, Done)
        final = step.answer
        if not streamed or final.mode == Mode.EXTRACTIVE:
            yield final.answer
        yield final

    def _finish(self, prepared: Prepared) -> Answer:
        now = time.perf_counter()
        answer = prepared.answer
        answer.usage = AnswerUsage(**prepared.usage.as_dict())
        answer.latency.generate_ms = round((now - (prepared.generate_started or prepared.started)) * 1000, 1)
        answer.latency_ms = round((now - prepared.started) * 1000, 1)
        return answer
