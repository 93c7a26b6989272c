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
from query.extractive import extractive_answer
from query.generate import generate, generate_stream, validate_citations
from query.retrieve import Filters, HybridRetriever, Section

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

    def ask(
        self,
        question: str,
        qid: str | int | None = None,
        top_k: int | None = None,
        filters: Filters | None = None,
        use_llm: bool = True,
    ) -> dict:
        started = time.perf_counter()
        result = self._retrieve(question, top_k, filters)
        sections = result.pop("_sections")
        usage = Usage()
        generate_started = time.perf_counter()
        answer, mode, notice = self._answer(question, sections, usage, use_llm)
        removed: list[int] = []
        if mode == "llm":
            answer, removed = validate_citations(answer, len(sections))
        result.update({
            "id": qid,
            "answer": answer,
            "mode": mode,
            "usage": usage.as_dict(),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        })
        result["latency"]["generate_ms"] = round((time.perf_counter() - generate_started) * 1000, 1)
        if removed:
            result["removed_citations"] = removed
        if notice:
            result["notice"] = notice
        return result

    def _retrieve(self, question: str, top_k: int | None, filters: Filters | None) -> dict:
        retrieval = self.retriever.retrieve(question, top_k, filters)
        return {
            "question": question,
            "sources": source_dicts(retrieval.sections, self.settings, self.root),
            "latency": {"retrieve_ms": round(retrieval.seconds * 1000, 1)},
            "_sections": retrieval.sections,
        }

    def _answer(self, question: str, sections: list[Section], usage: Usage, use_llm: bool) -> tuple[str, str, str]:
        if not sections:
            return "No manual section matches this question.", "extractive", ""
        if use_llm and self.client is not None:
            try:
                return generate(self.client, self.settings, question, sections, usage), "llm", ""
            except Exception as exc:  # endpoint down or failing: never crash, never empty
                notice = f"LLM unavailable ({type(exc).__name__}); showing extractive answer"
                return extractive_answer(question, sections, self.retriever.embed_model), "extractive", notice
        return extractive_answer(question, sections, self.retriever.embed_model), "extractive", ""

    def stream(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> Iterator[str | dict]:
        """Yield answer text pieces as they arrive, then the final answer dict."""
        started = time.perf_counter()
        result = self._retrieve(question, top_k, filters)
        sections = result.pop("_sections")
        usage = Usage()
        mode, notice, pieces = "extractive", "", []
        if self.client is not None and sections:
            try:
                for piece in generate_stream(self.client, self.settings, question, sections, usage):
                    pieces.append(piece)
                    yield piece
                mode = "llm"
            except Exception as exc:
                notice = f"LLM unavailable ({type(exc).__name__}); showing extractive answer"
        if mode == "llm":
            answer, removed = validate_citations("".join(pieces), len(sections))
        else:
            answer, removed = extractive_answer(question, sections, self.retriever.embed_model), []
            yield answer
        result.update({"answer": answer, "mode": mode, "usage": usage.as_dict(),
                       "latency_ms": round((time.perf_counter() - started) * 1000, 1)})
        if removed:
            result["removed_citations"] = removed
        if notice:
            result["notice"] = notice
        yield result
