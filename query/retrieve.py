"""Hybrid retrieval: dense (Chroma) + BM25 (Kiwi tokens), fused by reciprocal rank, then
grouped so each result is one anchored section.

Why a hand-written fusion instead of `QueryFusionRetriever`: that class keys nodes by text
hash and returns chunks, while we fuse on chunk ids, merge sibling chunks of one section
(a directive's table and its prose are one place for the agent), and need each retriever's
rank for evaluation. The dense side is LlamaIndex's `VectorIndexRetriever` over
`ChromaVectorStore`; filters are applied inside both retrievers, not after the cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from core.chunk_record import LANG, PATH, dir_filter, section_of
from core.embedding import get_embed_model
from core.lexical import LexicalIndex
from core.settings import Settings
from core.store import Generation, Storage, StoreError, get_storage, open_collection, read_info, reader_client, vector_store
from query.sections import Reorder, Section


@dataclass
class Filters:
    lang: str | None = None
    under: str | None = None  # a folder prefix of manual paths, e.g. "mod/" or "internet"

    def dir_key(self) -> tuple[str, str] | None:
        return dir_filter(self.under)

    def for_chroma(self) -> MetadataFilters | None:
        items = []
        if self.lang:
            items.append(MetadataFilter(key=LANG, value=self.lang, operator=FilterOperator.EQ))
        key = self.dir_key()
        if key:
            items.append(MetadataFilter(key=key[0], value=key[1], operator=FilterOperator.EQ))
        return MetadataFilters(filters=items) if items else None

    def for_lexical(self, index: LexicalIndex) -> np.ndarray | None:
        mask = None
        if self.lang:
            mask = index.fields[LANG] == self.lang
        key = self.dir_key()
        if key:
            column = index.fields.get(key[0])
            hit = column == key[1] if column is not None else np.zeros(len(index.ids), dtype=bool)
            mask = hit if mask is None else (mask & hit)
        return mask


@dataclass
class Retrieval:
    sections: list[Section]
    seconds: float
    query_embedding: list[float] | None = None
    notice: str | None = None
    dense_top: float | None = None  # cosine of the best dense hit: how well the manuals cover the question


class HybridRetriever:
    """One generation of the store, loaded once; `retrieve()` is then cheap (tens of ms).

    A long-running server does not keep one of these forever: query.live loads the next
    generation beside it when the index moves, and `close()`s this one when no request
    uses it any more.
    """

    def __init__(self, settings: Settings, storage_dir: Path | None = None, generation: Generation | None = None,
                 reorder: Reorder | None = None) -> None:
        self.settings = settings
        self.reorder = reorder  # the reranker, when one is configured (query.rerank.reranker)
        storage = get_storage(settings, storage_dir)
        generation = generation or storage.current()
        if generation is None:
            raise StoreError(f"no manuals indexed in {storage.root}: run `make ingest` first")
        self.generation = generation
        index_dir = storage.index_path(generation.index)
        self.index_dir = index_dir
        self.info = read_info(index_dir)
        self.embed_model = get_embed_model(settings)
        self.client, self._system = reader_client(Storage.chroma_dir(index_dir), settings)
        _, self.collection = open_collection(index_dir, settings, self.embed_model.model_name, create=False,
                                             client=self.client)
        self.index = VectorStoreIndex.from_vector_store(vector_store(self.collection), embed_model=self.embed_model)
        lexical_dir = storage.lexical_dir(generation)
        self.lexical = LexicalIndex.load(lexical_dir) if lexical_dir and Storage.lexical_saved(lexical_dir) else None

    def close(self) -> None:
        """Release this generation's Chroma: the embedded System (its HNSW index in memory)
        or the HTTP client's connections."""
        system, self._system = self._system, None
        try:
            if system is not None:
                system.stop()
            elif self.settings.chroma_host:
                self.client.close()
        except Exception:  # already stopped; nothing holds it
            pass

    def dense(self, query: QueryBundle, k: int, filters: Filters) -> list[NodeWithScore]:
        retriever = self.index.as_retriever(similarity_top_k=k, filters=filters.for_chroma())
        return retriever.retrieve(query)

    def lexical_hits(self, question: str, k: int, filters: Filters) -> list[tuple[str, float]]:
        if self.lexical is None:
            return []
        hits = self.lexical.search_question(question, k, filters.for_lexical(self.lexical), self.settings.query_expansion)
        return [(h.chunk_id, h.score) for h in hits]

    def _fetch(self, ids: list[str]) -> dict[str, TextNode]:
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        nodes = {}
        for chunk_id, text, metadata in zip(got["ids"], got["documents"], got["metadatas"]):
            if not metadata:
                continue
            node = metadata_dict_to_node(metadata, text=text)
            node.id_ = chunk_id
            nodes[chunk_id] = node  # type: ignore[assignment]
        return nodes

    def retrieve(
        self, question: str, top_k: int | None = None, filters: Filters | None = None,
        embedding: list[float] | None = None,
    ) -> Retrieval:
        """`embedding`: the question's vector when the caller has it already (the server
        computes those of concurrent questions in one batch)."""
        started = time.perf_counter()
        filters = filters or Filters()
        top_k = top_k or self.settings.top_k
        k = max(self.settings.candidate_k, top_k * 4)
        mode = self.settings.retrieval_mode
        query = QueryBundle(query_str=question)
        if mode != "lexical":
            query.embedding = embedding if embedding is not None else self.embed_model.get_query_embedding(question)
        dense = self.dense(query, k, filters) if mode != "lexical" else []
        lexical = self.lexical_hits(question, k, filters) if mode != "dense" else []

        fused = fuse(dense, lexical, self.settings)
        # Every fused chunk comes from Chroma's records as they are now: an HNSW index (or
        # a BM25 snapshot) can name a chunk an ingestion deleted since it was loaded, and
        # Chroma then returns the id with no metadata - a "ghost" source with no path.
        # Dense hits already carry the records the query read (a ghost has no path); only
        # chunks BM25 alone found are read back with `get`. (Reading the dense ones again
        # was a third of retrieval: 10 of 26 ms on the sample manuals.) What has no path is gone.
        nodes = {hit.node.node_id: hit.node for hit in dense}
        nodes.update(self._fetch([cid for cid in fused if cid not in nodes]))
        nodes = {cid: node for cid, node in nodes.items() if node.metadata.get(PATH)}
        ranked = sorted((cid for cid in fused if cid in nodes), key=lambda cid: -fused[cid])
        sections = group_sections(
            [NodeWithScore(node=nodes[cid], score=fused[cid]) for cid in ranked], self.settings.sibling_bonus
        )
        notice = None
        if self.reorder is not None:
            sections, notice = self.reorder(question, sections, top_k)
        return Retrieval(sections=sections[:top_k], seconds=time.perf_counter() - started,
                         query_embedding=query.embedding, notice=notice,
                         dense_top=dense[0].score if dense and dense[0].score is not None else None)


_TIE = 1e-5


def fuse(
    dense: list[NodeWithScore], lexical: list[tuple[str, float]], settings: Settings
) -> dict[str, float]:
    """Chunk id -> fused score (reciprocal rank fusion). The nodes themselves are read back
    from Chroma by the caller (see `HybridRetriever.retrieve`).

    Ranks (1, 3) and (3, 1) tie exactly under RRF; a tiny term from the raw scores
    (dense cosine, BM25 relative to its best) breaks such ties in favour of the stronger
    evidence without changing any other order. Measured: min-max score fusion lost
    6 points of section@5 on the httpd set, and a larger raw-score term helped httpd's
    MRR (+0.04) but cost the sample set's (-0.05). Measured on all six sets against RRF
    (k=20) and not kept, each within a question or two of it or worse somewhere: fusing
    section ranks instead of chunk ranks, weighting one retriever 1.2-1.5x, distribution-
    based score fusion, a retriever's first section always in the top 5 (debian +2,
    httpd -2), BM25 weighted by how much of the question its best chunk covers, a page
    prior from the page's other sections (-0.04 to -0.25 section@5), and demoting sections
    in the other language.
    """
    fused: dict[str, float] = {}
    rrf_k = settings.rrf_k
    for rank, hit in enumerate(dense):
        chunk_id = hit.node.node_id
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank + 1) + _TIE * (hit.score or 0.0)
    best_lexical = lexical[0][1] if lexical else 1.0
    for rank, (chunk_id, score) in enumerate(lexical):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank + 1) + _TIE * score / best_lexical
    return fused


def group_sections(ranked: list[NodeWithScore], self_bonus: float = 0.0) -> list[Section]:
    """Merge sibling chunks into their section; a section's score is its best chunk's
    plus `self_bonus` times its second best (a section matching in prose and table may be
    a surer place; the evaluation decides the weight)."""
    by_id: dict[str, Section] = {}
    for hit in ranked:
        section_id = section_of(hit.node.metadata)
        section = by_id.setdefault(section_id, Section(section_id=section_id))
        section.chunks.append(hit)
    for section in by_id.values():
        scores = [c.score or 0.0 for c in section.chunks]
        section.score = scores[0] + (self_bonus * scores[1] if len(scores) > 1 else 0.0)
    return sorted(by_id.values(), key=lambda s: -s.score)
