"""Question -> answer with sources, in the JSON contract other tools read.

    {"id", "question", "answer", "mode": "llm"|"extractive", "sources": [{"rank", "title",
     "path", "anchor", "url", "score", "kind", "snippet", ...}], "usage": {"llm_requests",
     "input_tokens", "output_tokens", "cost_usd"}, "latency_ms", ...}

With an LLM configured the answer is generated from the sources; without one, or when the
endpoint fails, it is extractive (with a visible notice in the failure case). Both modes
always return the sources the `[n]` markers refer to.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from core.chunk_record import ANCHOR, HEADING, KIND, KIND_TEXT, LANG, PATH, TITLE, attachments, chunk_body
from core.llm import Usage, chat, chat_stream, make_client
from core.settings import Settings
from core.store import get_storage
from query.cache import AnswerCache, sources_signature
from query.embed_cache import CachedEmbedding
from query.extractive import extractive_answer
from query.fields import load_profile
from query.generate import PROMPT_VERSION, build_messages, validate_citations
from query.live import LiveIndex
from query.retrieve import Filters, HybridRetriever
from query.sections import Section
from query.smalltalk import smalltalk_reply

SNIPPET_CHARS = 240


def source_url(path: str, anchor: str, base_url: str, root: str | None) -> str:
    """`path#anchor` under BASE_URL when set; otherwise relative to the ingested root."""
    target = quote(path) + (f"#{anchor}" if anchor else "")
    if base_url:
        return base_url.rstrip("/") + "/" + target
    return target


def _snippet(text: str) -> str:
    body = " ".join(chunk_body(text).split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1] + "…"


def source_dicts(sections: list[Section], settings: Settings, root: str | None) -> list[dict]:
    out = []
    for rank, section in enumerate(sections, start=1):
        meta = section.metadata
        anchor = meta.get(ANCHOR) or None
        out.append({
            "rank": rank,
            "title": meta.get(TITLE, ""),
            "heading": meta.get(HEADING, ""),
            "path": meta.get(PATH, ""),
            "anchor": anchor,
            "url": source_url(meta.get(PATH, ""), anchor or "", settings.base_url, root),
            "score": round(section.score, 6),
            "kind": meta.get(KIND, KIND_TEXT),
            "lang": meta.get(LANG, ""),
            "snippet": _snippet(section.best.get_content()),
            "attachments": attachments(meta),
            "also": list(section.also),  # near-duplicate sections grouped under this one
        })
    return out


@dataclass
class Prepared:
    """An answer after retrieval, before generation: what the `sources` event carries.

    Split out so the synchronous path (CLI, evaluation) and the server's async path
    (LLM awaited on the event loop, cancellable) share every step but the LLM call.
    """

    question: str
    result: dict
    usage: Usage
    started: float
    sections: list[Section] = field(default_factory=list)
    query_embedding: list[float] | None = None
    signature: str | None = None
    reply: str | None = None  # an answer known without generation (small talk, cache hit)
    history: list[dict] = field(default_factory=list)

    @property
    def wants_llm(self) -> bool:
        return self.reply is None and self.signature is not None


class Engine:
    """Loads models and indexes once; answers many questions (CLI batch, API, eval).

    Safe to call from many threads at once (the API server does, without a global lock):
    the retriever's shared objects are read-only after loading but for results it
    remembers in thread-safe ways (see `query.server` for the audit), the answer cache
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
    ) -> dict:
        """The whole answer at once (the JSON contract)."""
        final: dict = {}
        for event in self._events(question, qid, top_k, filters, use_llm, stream=False):
            if isinstance(event, dict):
                final = event
        return final

    def stream(
        self, question: str, qid: str | int | None = None, top_k: int | None = None, filters: Filters | None = None
    ) -> Iterator[str | dict]:
        """Yield answer text as it arrives, then the final answer dict (same contract as `ask`)."""
        yield from self._events(question, qid, top_k, filters, True, stream=True)

    # steps -------------------------------------------------------------------------
    def prepare(
        self, question: str, qid: str | int | None = None, top_k: int | None = None,
        filters: Filters | None = None, use_llm: bool = True, usage: Usage | None = None,
        history: list[dict] | None = None, started: float | None = None, embedding: list[float] | None = None,
    ) -> Prepared:
        """Small talk, retrieval and the sources: what the `sources` event carries. Then
        `lookup` finds a cached answer, if any; the server sends the sources in between.

        `embedding`: the question's vector if already computed (see `query.desk`)."""
        started = time.perf_counter() if started is None else started
        result: dict = {"id": qid, "question": question, "sources": [], "latency": {"retrieve_ms": 0.0}}
        prepared = Prepared(question, result, usage or Usage(), started, history=list(history or []))
        reply = smalltalk_reply(question)
        if reply is not None:
            result.update(mode="extractive", intent="smalltalk")
            prepared.reply = reply
            return prepared
        # Retrieval runs on one index generation; what the rest of the answer needs (the
        # sections' texts, the sources) is read here, so a swap afterwards changes nothing.
        with self.live.use() as retriever:
            retrieval = retriever.retrieve(question, top_k, filters, embedding)
            root = retriever.info.get("root")
        prepared.sections = retrieval.sections
        prepared.query_embedding = retrieval.query_embedding
        self.embed.remember_query(question, retrieval.query_embedding)
        result["sources"] = source_dicts(retrieval.sections, self.settings, root)
        result["latency"]["retrieve_ms"] = round(retrieval.seconds * 1000, 1)
        if retrieval.dense_top is not None:
            result["similarity"] = round(retrieval.dense_top, 4)  # read by the query log's low-confidence flag
        if retrieval.notice:
            result["notice"] = retrieval.notice
        result["mode"] = "extractive"
        if use_llm and self.client is not None and retrieval.sections:
            prepared.signature = sources_signature(retrieval.sections, self.settings.llm_model, PROMPT_VERSION)
        prepared.result["_generate_started"] = time.perf_counter()
        return prepared

    def lookup(self, prepared: Prepared) -> Prepared:
        """A cached answer for these sources, when there is one (then no LLM is asked).

        After `prepare` rather than in it: the lookup (redacting the question, reading
        SQLite) is not needed for the sources, and in a burst of questions every
        millisecond before a `sources` event is one the others wait for as well."""
        # A follow-up's answer depends on the conversation, not only on the sources.
        if self.cache is None or prepared.signature is None or prepared.history or prepared.reply is not None:
            return prepared
        hit = self.cache.get(prepared.question, prepared.signature, prepared.query_embedding)
        if hit is not None:
            prepared.reply = hit[0]
            prepared.result.update(mode="llm", cached=True, cache=hit[1])
        return prepared

    def messages(self, prepared: Prepared) -> list[dict]:
        return build_messages(prepared.question, prepared.sections, prepared.history)

    def complete(self, prepared: Prepared, answer: str | None, error: Exception | None = None) -> dict:
        """Validate an LLM answer (or fall back to the extractive one) and close the contract.

        `answer` is None when no LLM was asked; `error` is the LLM's failure, shown as a notice.
        """
        result = prepared.result
        generate_started = result.pop("_generate_started", prepared.started)
        mode = "extractive"
        if prepared.reply is not None:
            answer, mode = prepared.reply, result.get("mode", "extractive")
        elif answer is not None or error is not None:
            if error is not None:
                result["notice"] = f"LLM unavailable ({type(error).__name__}: {error}); showing extractive answer"
                answer = None
            elif not answer.strip():
                result["notice"] = "the LLM returned an empty answer; showing extractive answer"
                answer = None
            else:
                mode = "llm"
                answer, removed = validate_citations(answer, len(prepared.sections))
                if removed:
                    result["removed_citations"] = removed
                if self.cache is not None and prepared.signature and not prepared.history:
                    self.cache.put(prepared.question, prepared.signature, prepared.query_embedding, answer)
        if mode == "extractive" and prepared.reply is None:
            answer = self.extractive(prepared)
        result.update(answer=answer, mode=mode)
        return self._finish(result, prepared.usage, prepared.started, generate_started)

    def extractive(self, prepared: Prepared) -> str:
        if prepared.sections:
            return extractive_answer(prepared.question, prepared.sections, self.embed, profile=self.profile)
        return "No manual section matches this question."

    def _events(
        self, question: str, qid: str | int | None, top_k: int | None, filters: Filters | None,
        use_llm: bool, stream: bool,
    ) -> Iterator[str | dict]:
        prepared = self.lookup(self.prepare(question, qid, top_k, filters, use_llm))
        if not prepared.wants_llm:
            final = self.complete(prepared, None)
            yield final["answer"]
            yield final
            return
        answer, error = None, None
        try:
            if stream:
                pieces = []
                for piece in chat_stream(self.client, self.settings, self.messages(prepared), prepared.usage):
                    pieces.append(piece)
                    yield piece
                answer = "".join(pieces)
            else:
                answer = chat(self.client, self.settings, self.messages(prepared), prepared.usage)
        except Exception as exc:  # endpoint down or failing: never crash, never empty
            error = exc
        final = self.complete(prepared, answer, error)
        if final["mode"] == "extractive":
            yield final["answer"]
        yield final

    def _finish(self, result: dict, usage: Usage, started: float, generate_started: float) -> dict:
        now = time.perf_counter()
        result["usage"] = usage.as_dict()
        result["latency"]["generate_ms"] = round((now - generate_started) * 1000, 1)
        result["latency_ms"] = round((now - started) * 1000, 1)
        result.setdefault("cached", False)
        return result
