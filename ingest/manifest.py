"""Ingestion's bookkeeping in SQLite: which manuals are stored, with which content hash,
and the BM25 tokens of every chunk.

Why our own manifest rather than LlamaIndex's docstore + `IngestionPipeline`: the pipeline's
`UPSERTS_AND_DELETE` deletes every document absent from the current run (a sub-folder batch
would wipe the rest), its JSON docstore is written only at the end (a kill mid-run loses the
record of what was stored), and it cannot keep a failed update's old chunks. SQLite gives
per-manual transactions: a manual's row changes only after its chunks are in Chroma.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.chunk_record import LANG, PATH, dir_key, path_dirs
from core.summaries import SummaryRow

if TYPE_CHECKING:
    from ingest.rows import RowUnit
    from ingest.summary import Summary

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, title TEXT, lang TEXT,
    sections INTEGER, tables INTEGER, chunks INTEGER, updated_at TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, lang TEXT NOT NULL, dirs TEXT NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, raw_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page_blocks (path TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (path, key));
CREATE INDEX IF NOT EXISTS page_blocks_key ON page_blocks(key);
CREATE TABLE IF NOT EXISTS page_terms (path TEXT PRIMARY KEY, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    page TEXT NOT NULL, target TEXT NOT NULL, anchor TEXT NOT NULL, heading TEXT NOT NULL,
    title TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_page ON links(page);
CREATE TABLE IF NOT EXISTS row_units (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, chunk_id TEXT NOT NULL, lang TEXT NOT NULL, dirs TEXT NOT NULL,
    line TEXT NOT NULL, tokens TEXT NOT NULL, item INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS row_units_path ON row_units(path);
"""
# The columns of the unit tables as written whole: by `replace_file` and by `copy_path`
# (ingest.writer.carry_over), one list each, so that a column added is added everywhere.
ROW_UNIT_COLUMNS = "id, path, chunk_id, lang, dirs, line, tokens, item"
SUMMARY_COLUMNS = "path, anchor, id, first_chunk, lang, dirs, vector"


def _upsert(table: str, columns: str) -> str:
    return f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"


# The summary lane's units (ingest.summary): one per page (anchor ""), one per attachment
# section (its anchor, "page=3"). Created after `_migrate_summaries` has moved a store's
# older one-unit-per-path table aside.
SUMMARIES = """
CREATE TABLE IF NOT EXISTS summaries (
    path TEXT NOT NULL, anchor TEXT NOT NULL DEFAULT '', id TEXT NOT NULL, first_chunk TEXT NOT NULL,
    lang TEXT NOT NULL, dirs TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (path, anchor)
);
"""


SENTENCES_DONE = "sentences"  # meta key: "1" once every stored chunk has its sentence vectors


@dataclass(frozen=True)
class AttachmentLink:
    """A manual section's link to a file inside the manuals root (ingest.attachments):
    kept per page, so an attachment cites the pages that link to it even when only the
    attachment changed."""

    page: str
    target: str
    anchor: str
    heading: str
    title: str
    text: str


@dataclass
class FileRecord:
    path: str
    hash: str
    size: int
    title: str
    lang: str
    sections: int
    tables: int
    chunks: int


@dataclass
class ChunkRow:
    id: str
    lang: str
    dirs: dict[str, str]
    tokens: list[str]


class Manifest:
    def __init__(self, path: Path) -> None:
        # Written from the ingestion's writer thread, one group at a time (see ingest.run).
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._migrate()
        self.db.executescript(SUMMARIES)

    def _migrate(self) -> None:
        """Columns and keys changed since a store was first written (a manifest of an older run)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(row_units)")}
        if "item" not in columns:  # pipeline 21: list items and definitions in the row lane
            with self.db:
                self.db.execute("ALTER TABLE row_units ADD COLUMN item INTEGER NOT NULL DEFAULT 0")
        self._migrate_summaries()

    def _migrate_summaries(self) -> None:
        """A store written when only pages had summary units keyed them by path alone: its
        rows become page units (anchor "") of the new table, vectors and ids unchanged, so
        the next ingestion embeds none of them again."""
        columns = [row[1] for row in self.db.execute("PRAGMA table_info(summaries)")]
        if not columns or "anchor" in columns:
            return
        with self.db:
            self.db.execute("ALTER TABLE summaries RENAME TO summaries_by_path")
            self.db.execute(SUMMARIES.strip().rstrip(";"))
            self.db.execute("INSERT INTO summaries (path, anchor, id, first_chunk, lang, dirs, vector) "
                            "SELECT path, '', id, first_chunk, lang, dirs, vector FROM summaries_by_path")
            self.db.execute("DROP TABLE summaries_by_path")

    def close(self) -> None:
        self.db.close()

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, hash FROM files"))

    def files(self) -> list[FileRecord]:
        rows = self.db.execute(
            "SELECT path, hash, size, title, lang, sections, tables, chunks FROM files ORDER BY path"
        )
        return [FileRecord(*row) for row in rows]

    def _bump(self) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def replace_file(self, record: FileRecord, chunks: list[ChunkRow], updated_at: str,
                     terms: dict | None = None, links: list[AttachmentLink] | None = None,
                     rows: list[RowUnit] | None = None, summaries: "list[Summary] | None" = None) -> None:
        """One transaction: the manual's row, its chunk rows, its vocabulary (core.vocab),
        its attachment links, its table rows (the row lane, core.rows) and its summary unit
        (ingest.summary) change together.

        `summaries`: the file's units (none with SUMMARY_LANE off: any stored ones go). A unit
        without a vector is one the worker found stored with the same id: its row stays."""
        with self.db:
            self.db.execute("DELETE FROM row_units WHERE path = ?", (record.path,))
            if rows:
                lang, dirs = (chunks[0].lang, json.dumps(chunks[0].dirs)) if chunks else (record.lang, "{}")
                self.db.executemany(
                    _upsert("row_units", ROW_UNIT_COLUMNS),
                    [(r.id, record.path, r.chunk_id, lang, dirs, r.line, json.dumps(r.tokens, ensure_ascii=False), r.item)
                     for r in rows],
                )
            self._replace_summaries(record, summaries or [])
            if links is not None:
                self.db.execute("DELETE FROM links WHERE page = ?", (record.path,))
                self.db.executemany("INSERT INTO links (page, target, anchor, heading, title, text) VALUES (?, ?, ?, ?, ?, ?)",
                                    [(l.page, l.target, l.anchor, l.heading, l.title, l.text) for l in links])
            if terms is not None:
                self.db.execute("INSERT OR REPLACE INTO page_terms (path, terms) VALUES (?, ?)",
                                (record.path, json.dumps(terms, ensure_ascii=False)))
            self.db.execute("DELETE FROM chunks WHERE path = ?", (record.path,))
            self.db.executemany(
                "INSERT OR REPLACE INTO chunks (id, path, lang, dirs, tokens) VALUES (?, ?, ?, ?, ?)",
                [(c.id, record.path, c.lang, json.dumps(c.dirs), json.dumps(c.tokens, ensure_ascii=False)) for c in chunks],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO files (path, hash, size, title, lang, sections, tables, chunks, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.path, record.hash, record.size, record.title, record.lang, record.sections,
                 record.tables, record.chunks, updated_at),
            )
            self._bump()

    def _replace_summaries(self, record: FileRecord, summaries: "list[Summary]") -> None:
        """Inside replace_file's transaction: the file's units become `summaries`."""
        keep = [u.id for u in summaries]
        self.db.execute(f"DELETE FROM summaries WHERE path = ? AND id NOT IN ({', '.join('?' * len(keep))})",
                        (record.path, *keep))
        dirs = json.dumps(path_dirs(record.path))
        for unit in summaries:
            if unit.vector is not None:
                self.db.execute(
                    _upsert("summaries", SUMMARY_COLUMNS),
                    (record.path, unit.anchor, unit.id, unit.first_chunk, record.lang, dirs,
                     np.asarray(unit.vector, dtype=np.float32).tobytes()))
            else:  # unchanged text: keep the vector, follow the place's first chunk
                self.db.execute("UPDATE summaries SET first_chunk = ?, lang = ? WHERE path = ? AND id = ?",
                                (unit.first_chunk, record.lang, record.path, unit.id))

    def copy_path(self, source: "Manifest", table: str, columns: str, path: str) -> None:
        """`table`'s rows of `path` from another manifest into this one (inside the caller's
        transaction): a manual carried over from the last good generation keeps its units."""
        self.db.executemany(_upsert(table, columns),
                            source.db.execute(f"SELECT {columns} FROM {table} WHERE path = ?", (path,)).fetchall())

    def delete_file(self, path: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM chunks WHERE path = ?", (path,))
            self.db.execute("DELETE FROM row_units WHERE path = ?", (path,))
            self.db.execute("DELETE FROM page_terms WHERE path = ?", (path,))
            self.db.execute("DELETE FROM links WHERE page = ?", (path,))
            self.db.execute("DELETE FROM summaries WHERE path = ?", (path,))
            self.db.execute("DELETE FROM files WHERE path = ?", (path,))
            self._bump()

    # Block keys per page (ingest.boilerplate), kept for every page seen in a scan, whether or
    # not it parsed: they decide what is boilerplate before any page is parsed.
    def raw_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, raw_hash FROM pages"))

    def set_page_blocks(self, pages: list[tuple[str, str, set[str]]]) -> None:
        """(path, raw bytes hash, block keys) of pages whose bytes changed, in one transaction."""
        with self.db:
            for path, raw_hash, keys in pages:
                self.db.execute("DELETE FROM page_blocks WHERE path = ?", (path,))
                self.db.executemany("INSERT INTO page_blocks (path, key) VALUES (?, ?)", [(path, k) for k in keys])
                self.db.execute("INSERT OR REPLACE INTO pages (path, raw_hash) VALUES (?, ?)", (path, raw_hash))

    def forget_pages(self, paths: list[str]) -> None:
        with self.db:
            for path in paths:
                self.db.execute("DELETE FROM page_blocks WHERE path = ?", (path,))
                self.db.execute("DELETE FROM pages WHERE path = ?", (path,))

    def boilerplate(self, min_pages: int) -> dict[str, frozenset[str]]:
        """Per page: its block keys that occur on at least `min_pages` pages."""
        common = {k for (k,) in self.db.execute(
            "SELECT key FROM page_blocks GROUP BY key HAVING COUNT(*) >= ?", (min_pages,))}
        out: dict[str, set[str]] = {}
        if common:
            for path, key in self.db.execute("SELECT path, key FROM page_blocks"):
                if key in common:
                    out.setdefault(path, set()).add(key)
        return {path: frozenset(keys) for path, keys in out.items()}

    def seed_pages(self, other: "Manifest") -> None:
        """A rebuild starts from the live store's block keys: a page that fails now keeps the
        keys of its stored version (as in an incremental run), so the same blocks count as
        boilerplate and a rebuild ends where an incremental run ends."""
        pages = other.db.execute("SELECT path, raw_hash FROM pages").fetchall()
        blocks = other.db.execute("SELECT path, key FROM page_blocks").fetchall()
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO pages (path, raw_hash) VALUES (?, ?)", pages)
            self.db.executemany("INSERT OR IGNORE INTO page_blocks (path, key) VALUES (?, ?)", blocks)

    def page_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]

    def chunk_ids_of(self, path: str) -> frozenset[str]:
        return frozenset(r[0] for r in self.db.execute("SELECT id FROM chunks WHERE path = ?", (path,)))

    def vectors_of(self, path: str, with_chunks: bool = True) -> frozenset[str]:
        """The ids of what the store holds of a file with vectors already (its chunks, its
        summary units): those are not embedded again. `with_chunks=False` while
        `sentences_missing`: the chunks are embedded once more for their sentences."""
        return (self.chunk_ids_of(path) if with_chunks else frozenset()) | self.summary_ids_of(path)

    def sentences_missing(self, wanted: bool) -> bool:
        """Sentence vectors are wanted and the store has none yet (made before SENTENCE_VECTORS,
        or with it off): a run embeds every chunk it re-reads once more (`sentences_done`
        ends that). Read once per run, not per file."""
        return wanted and self.get_meta(SENTENCES_DONE) != "1"

    def sentences_done(self, wanted: bool) -> None:
        """After a run: every stored chunk has its sentences (or they are not wanted)."""
        self.set_meta(SENTENCES_DONE, "1" if wanted else "0")

    def summary_ids_of(self, path: str) -> frozenset[str]:
        """The ids of the file's stored summary units (hashes of place and text)."""
        return frozenset(r[0] for r in self.db.execute("SELECT id FROM summaries WHERE path = ?", (path,)))

    def summary_rows(self) -> list[SummaryRow]:
        """Every stored summary unit, in path and anchor order (core.summaries)."""
        return [SummaryRow(path, first, lang, json.loads(dirs), np.frombuffer(vector, dtype=np.float32), anchor)
                for path, anchor, first, lang, dirs, vector in self.db.execute(
                    "SELECT s.path, s.anchor, s.first_chunk, s.lang, s.dirs, s.vector FROM summaries s "
                    "JOIN files f ON f.path = s.path ORDER BY s.path, s.anchor")]

    def chunk_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM chunks")}

    def lexical_rows(self) -> tuple[list[str], list[list[str]], dict[str, list[str]]]:
        """Ids, tokens and filter fields of every chunk, in a stable order."""
        ids, tokens = [], []
        fields: dict[str, list[str]] = {PATH: [], LANG: []}
        dir_rows = []
        for chunk_id, path, lang, dirs, toks in self.db.execute(
            "SELECT id, path, lang, dirs, tokens FROM chunks ORDER BY path, id"
        ):
            ids.append(chunk_id)
            tokens.append(json.loads(toks))
            fields[PATH].append(path)
            fields[LANG].append(lang)
            dir_rows.append(json.loads(dirs))
        fields.update(_dir_fields(dir_rows))
        return ids, tokens, fields

    def row_rows(self) -> tuple[list[str], list[list[str]], dict[str, list[str]], list[str], list[str], list[bool]]:
        """Ids, tokens, filter fields, chunk ids, lines and item flags of every stored
        manual's row-lane units (table rows, list items; core.rows), in a stable order."""
        ids, tokens, chunk_ids, lines, items = [], [], [], [], []
        fields: dict[str, list[str]] = {PATH: [], LANG: []}
        dir_rows = []
        for row_id, path, chunk_id, lang, dirs, line, toks, item in self.db.execute(
            "SELECT r.id, r.path, r.chunk_id, r.lang, r.dirs, r.line, r.tokens, r.item FROM row_units r "
            "JOIN files f ON f.path = r.path ORDER BY r.path, r.rowid"
        ):
            ids.append(row_id)
            tokens.append(json.loads(toks))
            chunk_ids.append(chunk_id)
            lines.append(line)
            items.append(bool(item))
            fields[PATH].append(path)
            fields[LANG].append(lang)
            dir_rows.append(json.loads(dirs))
        fields.update(_dir_fields(dir_rows))
        return ids, tokens, fields, chunk_ids, lines, items

    def page_terms(self) -> list[dict]:
        """Every stored manual's vocabulary terms (core.vocab.page_terms), in path order.
        Manuals ingested before the vocabulary existed have none until they change (or a
        `--rebuild`)."""
        return [json.loads(t) for (t,) in self.db.execute(
            "SELECT t.terms FROM page_terms t JOIN files f ON f.path = t.path ORDER BY t.path")]

    def attachment_links(self) -> dict[str, list[AttachmentLink]]:
        """target -> the stored pages' links to it, in page and reading order."""
        out: dict[str, list[AttachmentLink]] = {}
        for row in self.db.execute("SELECT l.page, l.target, l.anchor, l.heading, l.title, l.text FROM links l "
                                   "JOIN files f ON f.path = l.page ORDER BY l.page, l.rowid"):
            out.setdefault(row[1], []).append(AttachmentLink(*row))
        return out

    def totals(self) -> dict[str, int]:
        files, chunks, tables, sections = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(chunks),0), COALESCE(SUM(tables),0), COALESCE(SUM(sections),0) FROM files"
        ).fetchone()
        return {"manuals": files, "chunks": chunks, "tables": tables, "sections": sections}


def _dir_fields(dir_rows: list[dict]) -> dict[str, list[str]]:
    """One filter column per folder level (dir1, dir2, ...) from each row's folders, ""
    where a row's path is shallower: the columns BM25 filters on (Filters.under)."""
    depth = max((len(d) for d in dir_rows), default=0)
    return {dir_key(i): [d.get(dir_key(i), "") for d in dir_rows] for i in range(1, depth + 1)}
