"""Optional second-stage reranking by a cross-encoder behind an HTTP endpoint.

Off by default: no cross-encoder with bundled weights exists on PyPI, and nothing may
be downloaded at run time. With `RERANK=<model>` the fused candidate sections are sent to
`{OPENAI_BASE_URL}/rerank`, the cross-encoder API that vLLM (`vllm serve
BAAI/bge-reranker-v2-m3`), Jina, Cohere-compatible gateways and Infinity serve:
`{"model", "query", "documents", "top_n"}` -> `{"results": [{"index", "relevance_score"}]}`.
It goes through the same `openai` client as answers (timeouts, retries). A failing
reranker never fails the question: the fused order is kept and a notice says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.settings import Settings
from query.answer.sections import Reorder, Section

if TYPE_CHECKING:
    from openai import OpenAI

MAX_CHARS = 2000  # per section: cross-encoders read ~512 tokens


def section_text(section: Section) -> str:
    return section.context_text()[:MAX_CHARS]


def rerank(
    client: OpenAI, model: str, question: str, sections: list[Section], top_n: int
) -> tuple[list[Section], str | None]:
    """The sections in the reranker's order (best first), and a notice if it failed."""
    if len(sections) < 2:
        return sections[:top_n], None
    try:
        response: Any = client.post(
            "/rerank",
            body={"model": model, "query": question,
                  "documents": [section_text(s) for s in sections], "top_n": top_n},
            cast_to=object,
        )
        order = sorted(response["results"], key=lambda r: -float(r["relevance_score"]))
        picked = [sections[int(r["index"])] for r in order if 0 <= int(r["index"]) < len(sections)]
    except Exception as exc:  # any endpoint or format problem: keep the fused order
        return sections[:top_n], f"reranker unavailable ({type(exc).__name__}); fused order kept"
    seen = {id(s) for s in picked}
    return (picked + [s for s in sections if id(s) not in seen])[:top_n], None


def reranker(settings: Settings) -> Reorder | None:
    """The second stage `RERANK` configures (its best RERANK_CANDIDATES fused sections go
    to the endpoint), or None when it is off."""
    if not settings.rerank:
        return None
    from core.llm import make_client

    client = make_client(settings)

    def reorder(question: str, sections: list[Section], top_n: int) -> tuple[list[Section], str | None]:
        return rerank(client, settings.rerank, question, sections[: settings.rerank_candidates], top_n)

    return reorder
