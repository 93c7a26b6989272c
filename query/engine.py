"""Question -> answer with sources, in the JSON contract other tools read.

    {"id", "question", "answer", "mode": "llm"|"extractive", "sources": [{"rank", "title",
     "path", "anchor", "url", "score", "kind", "snippet", ...}], "usage": {"llm_requests",
     "input_tokens", "output_tokens", "cost_usd"}, "latency_ms", ...}

With an LLM configured the answer is generated from the sources; without one, or when the
endpoint fails, it is extractive (with a visible notice in the failure case). Both modes
always return the sources the `[n]` markers refer to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from core.llm import Usage, make_client
from core.settings import Settings
from core.store import get_storage
from query.cache import AnswerCache, sources_signature
from query.extractive import extractive_answer
from query.generate import PROMPT_VERSION, generate, generate_stream, validate_citations
from query.retrieve import Filters, HybridRetriever, Section
from query.smalltalk import smalltalk_reply

SNIPPET_CHARS = 240


def source_url(path: str, anchor: str, base_url: str, root: str | None) -> str:
    """`path#anchor` under BASE_URL when set; otherwise relative to the ingested root."""
    target = quote(path) + (f"#{anchor}" if anchor else "")
    if base_url:
        return base_url.rstrip("/") + "/" + target
    return target


def _snippet(text: str) -> str:
    body = text.split("\n", 1)[1] if "\n" in text else text
    body = " ".join(body.split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1] + "…"


def source_dicts(sections: list[Section], settings: Settings, root: str | None) -> list[dict]:
    out = []
    for rank, section in enumerate(sections, start=1):
        meta = section.metadata
        anchor = meta.get("anchor") or None
        links = json.loads(meta.get("links") or "[]")
        out.append({
            "rank": rank,
            "title": meta.get("title", ""),
            "heading": meta.get("heading", ""),
            "path": meta.get("path", ""),
            "anchor": anchor,
            "url": source_url(meta.get("path", ""), anchor or "", settings.base_url, root),
            "score": round(section.score, 6),
            "kind": meta.get("kind", "text"),
            "lang": meta.get("lang", ""),
            "snippet": _snippet(section.best.get_content()),
            "attachments": [
                {"text": link["text"], "href": link["href"], "path": link.get("target", "")}
                for link in links if link.get("kind") == "attachment"
            ],
        })
    return out


class Engine:
    """Loads models and indexes once; answers many questions (CLI batch, API, eval)."""

    def __init__(self, settings: Settings, storage_dir: Path | None = None) -> None:
        self.settings = settings
        self.retriever = HybridRetriever(settings, storage_dir)
        self.root = self.retriever.info.get("root")
        self.client = make_client(settings) if settings.llm_configured else None
        storage = get_storage(settings, storage_dir)
        self.cache = (
            AnswerCache(storage.cache_dir / "answers.sqlite", settings.cache_similarity) if self.client else None
        )

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

    def _events(
        self, question: str, qid: str | int | None, top_k: int | None, filters: Filters | None,
        use_llm: bool, stream: bool,
    ) -> Iterator[str | dict]:
        started = time.perf_counter()
        usage = Usage()
        result: dict = {"id": qid, "question": question, "sources": [], "latency": {"retrieve_ms": 0.0}}
        reply = smalltalk_reply(question)
        if reply is not None:
            yield reply
            result.update(answer=reply, mode="extractive", intent="smalltalk")
            yield self._finish(result, usage, started, started)
            return
        retrieval = self.retriever.retrieve(question, top_k, filters)
        sections = retrieval.sections
        result["sources"] = source_dicts(sections, self.settings, self.root)
        result["latency"]["retrieve_ms"] = round(retrieval.seconds * 1000, 1)
        if retrieval.dense_top is not None:
            result["similarity"] = round(retrieval.dense_top, 4)  # read by the query log's low-confidence flag
        if retrieval.notice:
            result["notice"] = retrieval.notice
        generate_started = time.perf_counter()
        mode, answer = "extractive", ""
        if use_llm and self.client is not None and sections:
            signature = sources_signature(sections, self.settings.llm_model, PROMPT_VERSION)
            hit = self.cache.get(question, signature, retrieval.query_embedding) if self.cache else None
            if hit is not None:
                answer, mode = hit[0], "llm"
                result.update(cached=True, cache=hit[1])
                yield answer
            else:
                try:
                    if stream:
                        pieces = []
                        for piece in generate_stream(self.client, self.settings, question, sections, usage):
                            pieces.append(piece)
                            yield piece
                        answer = "".join(pieces)
                    else:
                        answer = generate(self.client, self.settings, question, sections, usage)
                    mode = "llm" if answer.strip() else "extractive"
                    if mode == "extractive":
                        result["notice"] = "the LLM returned an empty answer; showing extractive answer"
                except Exception as exc:  # endpoint down or failing: never crash, never empty
                    result["notice"] = f"LLM unavailable ({type(exc).__name__}: {exc}); showing extractive answer"
                if mode == "llm":
                    answer, removed = validate_citations(answer, len(sections))
                    if removed:
                        result["removed_citations"] = removed
                    if self.cache is not None:
                        self.cache.put(question, signature, retrieval.query_embedding, answer)
        if mode == "extractive":
            if sections:
                answer = extractive_answer(question, sections, self.retriever.embed_model)
            else:
                answer = "No manual section matches this question."
            yield answer
        result.update(answer=answer, mode=mode)
        yield self._finish(result, usage, started, generate_started)

    def _finish(self, result: dict, usage: Usage, started: float, generate_started: float) -> dict:
        now = time.perf_counter()
        result["usage"] = usage.as_dict()
        result["latency"]["generate_ms"] = round((now - generate_started) * 1000, 1)
        result["latency_ms"] = round((now - started) * 1000, 1)
        result.setdefault("cached", False)
        return result
