"""A search result: one anchored section and the chunks of it that matched.

Its own module because retrieval makes sections and everything after it (reranking, the
cache key, the prompt, the extractive answer, the sources) reads them: none of those
needs the retriever, and the retriever runs the reranker without knowing it (`Reorder`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from llama_index.core.schema import NodeWithScore, TextNode

from core.chunk_record import CONTEXT_CHUNKS, chunk_body


@dataclass
class Section:
    """One place in the manuals: the chunks of one anchored section that matched."""

    section_id: str
    chunks: list[NodeWithScore] = field(default_factory=list)
    score: float = 0.0
    also: list[str] = field(default_factory=list)  # sections whose text repeats this one's (`group_duplicates`)
    rows: list[str] = field(default_factory=list)  # its table rows the row lane found, best first (query.answer.row_lane)

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


_WORD = re.compile(r"\w+")
DUPLICATE_JACCARD = 0.85  # share of the words two best chunks have in common, of all their words


def _words(section: Section) -> frozenset[str]:
    return frozenset(_WORD.findall(chunk_body(section.best.get_content()).lower()))


def group_duplicates(sections: list[Section], keep: int) -> list[Section]:
    """The first `keep` sections of `sections` (best first) with near-duplicates grouped:
    a section whose best chunk says what a better-ranked one's says (the same help text
    under three programs, a page copied into another manual) is listed in that one's
    `also` instead of taking a place of its own, so the places shown are distinct and the
    copies stay reachable. Near-duplicate: the two best chunks' bodies (without the
    breadcrumb line, which names the page) share DUPLICATE_JACCARD of their words.
    """
    kept: list[tuple[Section, frozenset[str]]] = []
    for section in sections:
        words = _words(section)
        twin = next((k for k, w in kept if words and w and len(words & w) >= DUPLICATE_JACCARD * len(words | w)), None)
        if twin is not None:
            twin.also.append(section.section_id)
            continue
        if len(kept) < keep:
            kept.append((section, words))
    return [section for section, _ in kept]


# A second stage that reorders the fused sections (query.rerank builds one from the
# settings; query.live hands it to each generation's retriever): (question, candidates,
# how many to keep) -> (the kept sections, a notice when it could not run).
Reorder = Callable[[str, list[Section], int], tuple[list[Section], str | None]]
