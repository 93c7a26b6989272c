"""The row lane's index: one BM25 document per table row, kept apart from the chunk index.

Why a separate index: questions often ask for one row of a long table ("which key saves
under another name?"), and a chunk of twenty rows dilutes that row's words. Indexing every
row as an extra chunk (SMALL_UNITS) put ~12,500 units into the chunk candidate lists of an
all-corpora index and crowded real sections out (httpd section@5 0.94 -> 0.90). Here the
rows compete only with rows, their hits are one more fused list (query.answer.row_lane),
and they cost no embedding: a row is tokenized once at ingestion (ingest.rows) and the
index is written inside the chunk BM25 snapshot, so it is published, rolled back and
deleted with it. The BM25 machinery (bm25s, Kiwi tokens, language IDF, filters) is
core.lexical's `LexicalIndex`, reused as is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.lexical import LexicalIndex, _idf, tokenize

ROWS_DIR = "rows"  # inside a BM25 snapshot directory (core.store.Storage.lexical_dir)
_META = "rows.json"


@dataclass(frozen=True)
class RowHit:
    """A row found by the lane: the chunk that holds it, its line as the chunk states it."""

    chunk_id: str
    line: str
    score: float
    coverage: float = 1.0  # IDF-weighted share of the question's terms the row holds (`RowIndex.coverage`)
    item: bool = False  # a list item or definition entry (ingest.rows), not a table row


class RowIndex:
    """`LexicalIndex` over row documents, plus each row's chunk id, line and item flag."""

    def __init__(self, lexical: LexicalIndex, chunk_ids: list[str], lines: list[str],
                 items: list[bool] | None = None) -> None:
        self.lexical = lexical
        self.chunk_ids = chunk_ids
        self.lines = lines
        self.items = items if items is not None else [False] * len(lines)  # (a snapshot of pipeline 20 has none)
        self._position = {rid: i for i, rid in enumerate(lexical.ids)}
        self._tables = ~np.asarray(self.items, dtype=bool)
        self._shape_masks: dict[str, np.ndarray] = {}

    def table_mask(self) -> np.ndarray:
        """Table rows only (no list items), as a filter mask in document order."""
        return self._tables

    def shape_mask(self, name: str, holds: re.Pattern) -> np.ndarray:
        """Rows whose line holds a value of a shape (`holds`, e.g. a key combination), as a
        filter mask in document order; computed once per index and shape."""
        mask = self._shape_masks.get(name)
        if mask is None:
            mask = np.fromiter((bool(holds.search(line)) for line in self.lines), dtype=bool, count=len(self.lines))
            self._shape_masks[name] = mask
        return mask

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def build(cls, ids: list[str], tokens: list[list[str]], fields: dict[str, list[str]],
              chunk_ids: list[str], lines: list[str], items: list[bool] | None = None) -> "RowIndex":
        return cls(LexicalIndex.build(ids, tokens, fields), chunk_ids, lines, items)

    def save(self, directory: Path) -> None:
        """`directory`: the row index's own directory (written whole, then renamed in)."""
        self.lexical.save(directory)
        (directory / _META).write_text(json.dumps({"chunks": self.chunk_ids, "lines": self.lines, "items": self.items},
                                                  ensure_ascii=False),
                                       encoding="utf-8")

    @staticmethod
    def saved(directory: Path) -> bool:
        return (directory / _META).exists()

    @classmethod
    def load(cls, directory: Path) -> "RowIndex":
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        return cls(LexicalIndex.load(directory), meta["chunks"], meta["lines"], meta.get("items"))

    def search(self, question: str, k: int, allowed=None, language_idf: bool = True) -> list[RowHit]:
        """The best `k` rows for a question (its own terms; no corpus expansion: the rows
        are searched for what the caller typed, the chunk lane already expands)."""
        hits = self.lexical.search_question(question, k, allowed, expand=False, language_idf=language_idf)
        at = self._position
        rows = [at[h.chunk_id] for h in hits]
        shares = self.coverage(question, rows)
        return [RowHit(self.chunk_ids[r], self.lines[r], h.score, c, self.items[r]) for r, h, c in zip(rows, hits, shares)]

    def coverage(self, question: str, rows: list[int]) -> list[float]:
        """Per row: the IDF-weighted share of the question's distinct terms it holds.

        Why: BM25 always has a best row, and a row sharing one common word with a question
        about something else ("설정", "default") is the lane's top hit as often as the row
        that answers. Only a row that holds most of what the question names speaks for its
        section. A term no row holds weighs as the rarest: the question asks about
        something the tables do not state.
        """
        if not rows:
            return []
        retriever = self.lexical.retriever
        vocab, n = retriever.vocab_dict, len(self.chunk_ids)
        indptr, indices = retriever.scores["indptr"], retriever.scores["indices"]
        held = np.zeros(len(rows))
        total = 0.0
        wanted = np.asarray(rows)
        for term in dict.fromkeys(tokenize(question, question=True)):
            tid = vocab.get(term)
            docs = indices[indptr[tid]:indptr[tid + 1]] if tid is not None else indices[:0]
            weight = _idf(len(docs), n)
            total += weight
            if len(docs):
                held += weight * np.isin(wanted, docs)
        return (held / total).tolist() if total else [0.0] * len(rows)
