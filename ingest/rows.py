"""A page's table rows as units of the row lane (core.rows): each row of a table with at
least ROW_MIN_ROWS rows, with the words that make it findable alone, and the chunk that
states it (small-to-big: a row hit is resolved to its chunk, and so to its section).

A row unit's BM25 document is the section's header line (the parent page's title and the
breadcrumb, as every chunk starts), the table's caption and the row sentence
(ingest.tables.row_sentences, which names each value's column header): "편집기 단축키 /
표 1. 단축키 목록 / 단축키: Ctrl+Shift+S; 기능: 다른 이름으로 저장." Tokenizing it is all
the lane costs at ingestion (no vector).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from llama_index.core.schema import TextNode

from core import chunk_record as record
from core.lexical import tokenize
from ingest.chunk import breadcrumb, list_items, section_header
from ingest.parse import Page
from ingest.tables import row_sentences

ROW_MIN_ROWS = 3  # a shorter table is read whole from its chunk anyway
ROW_MAX_CHARS = 300  # a longer row is a paragraph in a cell, found by the section's own chunks


@dataclass(frozen=True)
class RowUnit:
    id: str
    chunk_id: str  # the chunk whose text holds the row (or the table's first chunk: LLM prose)
    line: str  # the row sentence, as the extractive answer shows it
    tokens: list[str]
    item: bool = False  # a list item or definition entry, not a table row


def _chunk_of(line: str, candidates: list[TextNode]) -> TextNode | None:
    """The chunk stating the row: the table chunk whose text holds the line, else the
    section's first table chunk (an LLM's prose states the rows in its own words)."""
    tables = [n for n in candidates if n.metadata.get(record.KIND) == record.KIND_TABLE]
    return next((n for n in tables if line in n.text), None) or (tables[0] if tables else None) \
        or (candidates[0] if candidates else None)


def _item_chunk(item: str, candidates: list[TextNode]) -> TextNode | None:
    """The text chunk that states a list item whole (an item cut between two chunks has
    no single place to resolve to: it is left to the chunks)."""
    return next((n for n in candidates if n.metadata.get(record.KIND) == record.KIND_TEXT and item in n.text), None)


def _unit(page: Page, chunk: TextNode, line: str, title: str, position: int, item: bool = False) -> RowUnit:
    """A unit for `line` under `title`, its id unique within the page (`position`)."""
    digest = hashlib.sha256(f"{page.path}\x1f{chunk.id_}\x1f{line}\x1f{position}".encode()).hexdigest()[:32]
    return RowUnit(digest, chunk.id_, line, tokenize(f"{title}\n{line}"), item)


def row_units(page: Page, nodes: list[TextNode], items: bool = True) -> list[RowUnit]:
    """Every row unit of a page, in reading order: each table's rows, then (`items`) each
    list item and `term: definition` entry of the section's lists (ingest.chunk.list_items).

    Why items: a shortcut list ("Ctrl + Alt + O: Open image as layers"), an option list or
    the steps of a procedure are tables written as lists; a question asks for one entry,
    and the chunk of thirty entries matches it as weakly as a table's chunk matches one
    row. As units of this lane they are found alone, never crowd the chunk lists (what
    SMALL_UNITS did), and the answer leads with the entry (Section.rows)."""
    by_section: dict[tuple[str, str], list[TextNode]] = {}
    for node in nodes:
        if node.metadata.get(record.CARD) or node.metadata.get(record.UNIT):
            continue  # a card or a small unit is not where the answer reads the row
        key = (node.metadata.get(record.ANCHOR, ""), node.metadata.get(record.HEADING, ""))
        by_section.setdefault(key, []).append(node)
    out: list[RowUnit] = []
    for section in page.sections:
        entries = list_items(section) if items else []
        if not section.tables and not entries:
            continue
        chunks = by_section.get((section.anchor or "", breadcrumb(section)), [])
        header = section_header(page, section)
        for table in section.tables:
            rows = row_sentences(table)
            if len(rows) < ROW_MIN_ROWS:
                continue
            title = f"{header}\n{table.caption}" if table.caption else header
            for line, _ in rows:
                chunk = _chunk_of(line, chunks) if len(line) <= ROW_MAX_CHARS else None
                if chunk is not None:
                    out.append(_unit(page, chunk, line, title, len(out)))
        for entry in entries:
            chunk = _item_chunk(entry, chunks)
            if chunk is not None:
                out.append(_unit(page, chunk, entry, header, len(out), item=True))
    return out
