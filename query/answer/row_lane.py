"""The row lane at query time: table rows searched apart from the chunks (core.rows),
fused as one more reciprocal-rank list, and remembered on the sections they resolve to.

Small-to-big: a row hit names the chunk that states the row, the fusion credits that
chunk, and the chunk's section is the result. The matched rows go with the section
(`Section.rows`) so the extractive answer leads with the row the question asked for,
not with the table's first rows.
"""

from __future__ import annotations

from pathlib import Path

from core.rows import ROWS_DIR, RowHit, RowIndex
from query.answer.sections import Section

ROW_CANDIDATES = 20  # rows read per question; each chunk counts once, at its best row's rank


def load_rows(lexical_dir: Path | None) -> RowIndex | None:
    """The row index of a BM25 snapshot, or None (a snapshot written before the lane)."""
    if lexical_dir is None or not RowIndex.saved(lexical_dir / ROWS_DIR):
        return None
    return RowIndex.load(lexical_dir / ROWS_DIR)


def mode_uses_lexical(settings) -> bool:
    """The lane is lexical: a dense-only retrieval leaves it out, as it does BM25."""
    return settings.retrieval_mode != "dense"


def confident(hits: list[RowHit], min_coverage: float) -> list[RowHit]:
    """The hits that hold at least `min_coverage` of the question's terms (RowIndex.coverage):
    the others are rows that share a word or two with a question about something else."""
    return [h for h in hits if h.coverage >= min_coverage]


def fuse_rows(fused: dict[str, float], hits: list[RowHit], weight: float, rrf_k: int) -> None:
    """Add the row lane's list to `fused` (chunk id -> score): each chunk at the rank of
    its best row, `weight` times a retriever's reciprocal rank."""
    seen: set[str] = set()
    for hit in hits:
        if hit.chunk_id in seen:
            continue
        fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + weight / (rrf_k + len(seen) + 1)
        seen.add(hit.chunk_id)


def attach_rows(sections: list[Section], hits: list[RowHit]) -> None:
    """Set each section's `rows` to the row the question picked out of it, if one.

    Picked out: of the section's row hits, the one holding the largest share of the
    question's terms (`RowHit.coverage`), strictly more than any other. Rows that tie
    matched only what all rows of a table share (the page title, the caption, the column
    labels: "정지 유형", "결합 회선 수"): the table is the place, but no row of it is the
    answer, and leading with one of them quoted a row the question never asked about.
    """
    for section in sections:
        ids = {hit.node.node_id for hit in section.chunks}
        mine = sorted((h for h in hits if h.chunk_id in ids), key=lambda h: (-h.coverage, -h.score))
        if mine and (len(mine) == 1 or mine[0].coverage > mine[1].coverage + 1e-6):
            section.rows = [mine[0].line]
