"""A search result: one anchored section and the chunks of it that matched.

Its own module because retrieval makes sections and everything after it (reranking, the
cache key, the prompt, the extractive answer, the sources) reads them: none of those
needs the retriever, and the retriever runs the reranker without knowing it (`Reorder`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llama_index.core.schema import NodeWithScore, TextNode

from core.chunk_record import CONTEXT_CHUNKS


@dataclass
class Section:
    """One place in the manuals: the chunks of one anchored section that matched."""

    section_id: str
    chunks: list[NodeWithScore] = field(default_factory=list)
    score: float = 0.0

    @property
    def best(self) -> TextNode:
        return self.chunks[0].node  # type: ignore[return-value]

    @property
    def metadata(self) -> dict:
        return self.best.metadata

    @property
    def context(self) -> list[NodeWithScore]:
        """The chunks that stand for the section when it is read as a whole (by the LLM,
        the reranker) and that key its cached answers."""
        return self.chunks[:CONTEXT_CHUNKS]

    def context_text(self) -> str:
        return "\n".join(hit.node.get_content() for hit in self.context)


# A second stage that reorders the fused sections (query.rerank builds one from the
# settings; query.live hands it to each generation's retriever): (question, candidates,
# how many to keep) -> (the kept sections, a notice when it could not run).
Reorder = Callable[[str, list[Section], int], tuple[list[Section], str | None]]
