"""Writes parsed manuals to Chroma and the manifest, and keeps BM25 in step with them.

Per group of manuals, in this order: new chunks are added to Chroma, kept chunks get
fresh metadata, stale chunks are deleted, and only then the manifest rows (hash + chunk
tokens) commit in one SQLite transaction. A kill at any point leaves the manifest saying
"old version" for those manuals, so the next run redoes them; ids derive from content, so
redoing is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from llama_index.core.schema import MetadataMode, TextNode

from core.chunk_record import PATH
from core.embedding import get_embed_model
from core.lexical import LexicalIndex
from core.rows import ROWS_DIR, RowIndex
from core.summaries import SummaryIndex
from core.vocab import Vocabulary
from core.sentence_vectors import wants_sentences
from core.settings import Settings
from core.store import (
    SENTENCE_OF, Storage, add_nodes, chroma_metadata, delete_sentences, open_collection, open_sentences, sentence_owner,
    sentence_records,
)
from ingest.manifest import ROW_UNIT_COLUMNS, SUMMARY_COLUMNS, FileRecord, Manifest
from ingest.report import Report, utc_now
from ingest.worker import FileResult


class Writer:
    """Applies parsed manuals and deletions to Chroma, then commits them to the manifest.

    Manuals are buffered and written in groups: a Chroma `add` costs ~0.1 s whatever its
    size (it persists the HNSW segment), so one add per manual would double a cold run.
    The manifest still commits only after a group's chunks are in Chroma.
    """

    FLUSH_FILES = 200

    def __init__(self, index_dir: Path, manifest: Manifest, settings: Settings, report: Report) -> None:
        self.settings = settings
        self.manifest = manifest
        self.report = report
        self.embed_model = get_embed_model(settings)
        self.client, self.collection = open_collection(index_dir, settings, self.embed_model.model_name, create=True)
        self.batch = max(1, min(self.client.get_max_batch_size(), 5000))
        # Opened even when not wanted, if it exists: deleted chunks take their sentences along.
        self.sentences = open_sentences(self.client, index_dir, settings, create=wants_sentences(settings))
        self._sentences_before = self.sentences is not None and self.sentences.count() > 0  # else nothing to replace
        self.pending: list[FileResult] = []
        self.pending_chunks = 0
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-writer")
        self.in_flight: Future | None = None

    def existing_ids(self, paths: list[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {path: set() for path in paths}
        for i in range(0, len(paths), 100):
            group = paths[i : i + 100]
            where = {PATH: group[0]} if len(group) == 1 else {PATH: {"$in": group}}
            got = self.collection.get(where=where, include=["metadatas"])
            for chunk_id, metadata in zip(got["ids"], got["metadatas"]):
                found[metadata[PATH]].add(chunk_id)
        return found

    def apply(self, result: FileResult) -> None:
        self.pending.append(result)
        self.pending_chunks += len(result.nodes)
        # The first group is small so the embedder starts while the parsers warm up.
        limit = self.settings.flush_chunks if self.report.embedded or self.in_flight else min(64, self.settings.flush_chunks)
        if len(self.pending) >= self.FLUSH_FILES or self.pending_chunks >= limit:
            self.flush()

    def flush(self) -> None:
        """Store and commit the buffered manuals on the writer thread.

        Chroma's add (HNSW insertion, ~1.4 s per 1,000 chunks) runs on the writer thread
        while this thread collects the next group (and embeds it, for an API model). One
        group is in flight at most, so groups commit in order and memory stays bounded.
        """
        if not self.pending:
            return
        results, self.pending, self.pending_chunks = self.pending, [], 0
        existing = self.existing_ids([r.path for r in results])
        fresh = [n for r in results for n in r.nodes if n.id_ not in existing[r.path]]
        vectors = {chunk_id: v for r in results for chunk_id, v in r.vectors.items()}
        for node in fresh:
            if node.id_ in vectors:
                node.embedding = vectors[node.id_].tolist()
        unembedded = [n for n in fresh if n.embedding is None]
        if unembedded:  # an API model, or a chunk the worker believed stored
            started = time.perf_counter()
            texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in unembedded]
            for node, vector in zip(unembedded, self.embed_model.get_text_embedding_batch(texts)):
                node.embedding = vector
            self.report.embed_seconds += time.perf_counter() - started
        self.drain()
        self.in_flight = self.thread.submit(self._store, results, existing, fresh)

    def drain(self) -> None:
        """Wait for the group in flight (re-raising its error) before touching the manifest."""
        if self.in_flight is not None:
            future, self.in_flight = self.in_flight, None
            future.result()

    def close(self) -> None:
        self.drain()
        self.thread.shutdown(wait=True)

    def _store(self, results: list[FileResult], existing: dict[str, set[str]], fresh: list[TextNode]) -> None:
        fresh_ids = {n.id_ for n in fresh}
        kept = [n for r in results for n in r.nodes if n.id_ not in fresh_ids]
        for i in range(0, len(fresh), self.batch):
            add_nodes(self.collection, fresh[i : i + self.batch])
        self._add_sentences(results)
        self.report.embedded += len(fresh)
        for i in range(0, len(kept), self.batch):
            part = kept[i : i + self.batch]
            self.collection.update(
                ids=[n.id_ for n in part],
                metadatas=[chroma_metadata(n) for n in part],
            )
        stale = sorted(set().union(*existing.values()) - {n.id_ for r in results for n in r.nodes})
        self._delete_ids(stale)
        self.report.chunks.added += len(fresh)
        self.report.chunks.deleted += len(stale)
        for result in results:
            record = FileRecord(
                path=result.path, hash=result.hash, size=result.size, title=result.title, lang=result.lang,
                sections=result.sections, tables=result.tables, chunks=len(result.nodes),
            )
            self.manifest.replace_file(record, result.chunk_rows, utc_now(), result.terms, result.links, result.row_units,
                                       result.summaries)

    def _add_sentences(self, results: list[FileResult]) -> None:
        """The sentence vectors of the chunks just embedded, after the chunks: a run killed
        between the two leaves chunks without sentences (ranked by themselves), never the
        reverse. A chunk embedded again for its sentences (`Manifest.sentences_missing`) loses the
        ones it had first."""
        if self.sentences is None:
            return
        ids: list[str] = []
        metadatas: list[dict] = []
        embeddings: list = []
        for result in results:
            for node in result.nodes:
                if node.id_ in result.sentences:
                    more_ids, more_metadatas = sentence_records(node.id_, node.metadata, result.sentences[node.id_])
                    ids += more_ids
                    metadatas += more_metadatas
                    embeddings.extend(result.sentences[node.id_])
        again = sorted({m[SENTENCE_OF] for m in metadatas}) if self._sentences_before else []
        for i in range(0, len(again), self.batch):
            delete_sentences(self.sentences, again[i : i + self.batch])
        for i in range(0, len(ids), self.batch):
            self.sentences.add(ids=ids[i : i + self.batch], embeddings=embeddings[i : i + self.batch],
                               metadatas=metadatas[i : i + self.batch])

    def _delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self.batch):
            delete_sentences(self.sentences, ids[i : i + self.batch])  # before their chunks: see _add_sentences
            self.collection.delete(ids=ids[i : i + self.batch])

    def delete_manual(self, path: str) -> None:
        """Delete a stored manual or attachment and count it in the run's report (files
        deleted, their paths, their chunks)."""
        self.drain()
        stale = sorted(self.existing_ids([path])[path])
        self._delete_ids(stale)
        self.report.chunks.deleted += len(stale)
        self.report.files.deleted += 1
        self.report.deleted_paths.append(path)
        self.manifest.delete_file(path)

    def sweep_orphans(self) -> int:
        """Delete Chroma chunks the manifest does not know (left by a killed run)."""
        known = self.manifest.chunk_ids()
        orphans = [i for i in _stored_ids(self.collection, self.batch) if i not in known]
        self._delete_ids(orphans)
        # Sentences whose chunk the manifest does not know, whatever left them (the chunk
        # pass above takes the sentences of the chunks it finds; this catches the rest).
        if self.sentences is not None:
            left = {sentence_owner(i) for i in _stored_ids(self.sentences, self.batch)} - known
            delete_sentences(self.sentences, sorted(left))
        return len(orphans)


def _stored_ids(collection, batch: int) -> Iterator[str]:
    """Every id a collection holds, read a page at a time."""
    offset = 0
    while True:
        page = collection.get(include=[], limit=batch, offset=offset)["ids"]
        if not page:
            return
        yield from page
        offset += len(page)


def rebuild_lexical(directory: Path, manifest: Manifest) -> None:
    """Build BM25 from the manifest's chunk rows into `directory` (written whole, then
    renamed), with the row lane's index (core.rows) inside it."""
    ids, tokens, fields = manifest.lexical_rows()
    rows = RowIndex.build(*manifest.row_rows())
    summaries = SummaryIndex.from_rows(manifest.summary_rows())  # the summary lane's vectors

    def attach(tmp: Path) -> None:
        rows.save(tmp / ROWS_DIR)
        summaries.save(tmp)

    LexicalIndex.build(ids, tokens, fields, Vocabulary.build(manifest.page_terms())).save(directory, attach)


def carry_over(old_dir: Path, new_dir: Path, new_manifest: Manifest, paths: list[str], settings: Settings) -> None:
    """A rebuild must not lose a manual that fails now but was good before: copy its chunks."""
    old_manifest = Manifest(Storage.manifest_db(old_dir))
    try:
        embed_name = get_embed_model(settings).model_name
        old_client, old = open_collection(old_dir, settings, embed_name, create=False)
        new_client, new = open_collection(new_dir, settings, embed_name, create=True)
        old_sentences = open_sentences(old_client, old_dir, settings, create=False)
        new_sentences = open_sentences(new_client, new_dir, settings, create=True) if old_sentences else None
        records = {r.path: r for r in old_manifest.files()}
        for path in paths:
            if path not in records:
                continue
            got = old.get(where={PATH: path}, include=["embeddings", "metadatas", "documents"])
            if got["ids"]:
                new.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"], documents=got["documents"])
            said = old_sentences.get(where={PATH: path}, include=["embeddings", "metadatas"]) if old_sentences else None
            if said and said["ids"] and new_sentences is not None:
                new_sentences.add(ids=said["ids"], embeddings=said["embeddings"], metadatas=said["metadatas"])
            rows = old_manifest.db.execute("SELECT id, path, lang, dirs, tokens FROM chunks WHERE path = ?", (path,)).fetchall()
            with new_manifest.db:
                new_manifest.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?)", rows)
                new_manifest.copy_path(old_manifest, "row_units", ROW_UNIT_COLUMNS, path)  # the row lane (core.rows)
                new_manifest.copy_path(old_manifest, "page_terms", "path, terms", path)
                new_manifest.copy_path(old_manifest, "summaries", SUMMARY_COLUMNS, path)  # SUMMARY_LANE
                new_manifest.db.execute("DELETE FROM links WHERE page = ?", (path,))
                new_manifest.db.executemany(  # the attachments it links to keep citing it
                    "INSERT INTO links (page, target, anchor, heading, title, text) VALUES (?, ?, ?, ?, ?, ?)",
                    old_manifest.db.execute("SELECT page, target, anchor, heading, title, text FROM links WHERE page = ?",
                                            (path,)).fetchall(),
                )
            record = records[path]
            with new_manifest.db:
                new_manifest.db.execute(
                    "INSERT OR REPLACE INTO files (path, hash, size, title, lang, sections, tables, chunks, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.path, record.hash, record.size, record.title, record.lang, record.sections,
                     record.tables, record.chunks, utc_now()),
                )
                new_manifest._bump()  # the BM25 snapshot is named after the generation: it must move
    finally:
        old_manifest.close()
