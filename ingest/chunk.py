"""Sections -> LlamaIndex `TextNode`s with flat metadata and content-derived ids.

Text goes through LlamaIndex's sentence-aware `SentenceSplitter`. Tables are chunked by us
on row boundaries, because a splitter counting tokens would happily cut a row (a price
and its condition) in half. Every chunk starts with its breadcrumb, so the section name
(a directive, a product) is in the embedded and indexed text. Ids derive from the path and
the content, so re-ingesting unchanged content yields the same ids (nothing re-embedded).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.utils import get_tokenizer

from core import chunk_record as record
from ingest.parse import Page, Section
from ingest.table_prose import TableProser
from ingest.tables import Table, markdown, row_sentences


@dataclass
class Chunker:
    chunk_size: int
    chunk_overlap: int
    small_units: bool = False  # also a chunk per list item and definition entry (`unit_texts`)

    def __post_init__(self) -> None:
        self._tokens = get_tokenizer()
        self._splitter = SentenceSplitter(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)

    def count(self, text: str) -> int:
        return len(self._tokens(text))

    def split_text(self, text: str, budget: int) -> list[str]:
        if self.count(text) <= budget:
            return [text]
        splitter = SentenceSplitter(
            chunk_size=max(budget, 64), chunk_overlap=min(self.chunk_overlap, max(budget, 64) // 4)
        )
        return splitter.split_text(text)

    def group_rows(self, lines: list[str], budget: int) -> list[list[int]]:
        """Greedy groups of whole rows within the token budget (a long row stands alone)."""
        groups: list[list[int]] = []
        current: list[int] = []
        used = 0
        for i, line in enumerate(lines):
            size = self.count(line) + 1
            if current and used + size > budget:
                groups.append(current)
                current, used = [], 0
            current.append(i)
            used += size
        if current:
            groups.append(current)
        return groups


_KEY_VALUE = re.compile(r"^(?:• )?[^:\n]{1,40}: \S")
KEY_VALUE_MIN_ROWS = 6


def key_value_pieces(blocks: list[str], chunker: Chunker, budget: int) -> list[str] | None:
    """A section that is a list of `key: value` rows (shortcut keys, options, terms) in
    groups of whole rows a third of a chunk long, or None for any other section.

    Why: thirty shortcuts in one chunk embed as their average and none of them is near
    "which key opens a file as layers"; BM25 likewise drowns one row among thirty. Smaller
    groups of whole rows keep each row findable, and never cut a key from its value.
    Measured (gimp set): section@5 0.73 -> 0.75, fact in answer 0.48 -> 0.52 ("fullscreen
    key" now finds its keyboard-reference section); httpd section@5 0.94 -> 0.93 (one
    question from rank 5 to 6), fact 0.74 -> 0.75.
    """
    rows = [b for b in blocks if len(b) < 200 and _KEY_VALUE.match(b)]
    if len(blocks) < KEY_VALUE_MIN_ROWS or len(rows) < 0.7 * len(blocks):
        return None
    keys = Counter(row.removeprefix("• ").split(":", 1)[0].strip().lower() for row in rows)
    if keys.most_common(1)[0][1] > max(2, len(rows) // 4):
        return None  # repeated labels ("Q:", "A:", "Note:", "참고:") are paragraphs that belong together
    small = max(64, chunker.chunk_size // 3)
    pieces: list[str] = []
    for group in chunker.group_rows(blocks, min(small, budget)):
        text = "\n".join(blocks[i] for i in group)
        pieces.extend(chunker.split_text(text, budget))  # a single over-long row is still cut to size
    return pieces


def breadcrumb(section: Section) -> str:
    return record.breadcrumb(section.heading_path)


def _table_chunks(
    table: Table, section: Section, header: str, proser: TableProser, chunker: Chunker, first_line: str = ""
) -> list[tuple[str, str]]:
    """(chunk text, markdown of the rows in it) pairs for one table. `first_line` is the chunk's
    first line when it says more than the breadcrumb `header` (the parent page's title);
    the prose cache keys on `header` alone, so that line never re-asks the LLM."""
    context = f"{header} — {table.caption}" if table.caption else header
    text, how = proser.render(table, context)
    header = first_line or header
    if how in ("llm", "cache"):
        title = f"{header}\n{table.caption}\n" if table.caption else f"{header}\n"
        budget = chunker.chunk_size - chunker.count(title)
        return [(title + piece, markdown(table)) for piece in chunker.split_text(text, budget)]
    rows = row_sentences(table)
    title = f"{header}\n{table.caption}" if table.caption else header
    budget = chunker.chunk_size - chunker.count(title)
    out = []
    for group in chunker.group_rows([line for line, _ in rows], budget):
        body = "\n".join(rows[i][0] for i in group)
        out.append((f"{title}\n{body}", markdown(table, [rows[i][1] for i in group])))
    return out


def _card(table: Table, section: Section, header: str) -> tuple[str, str] | None:
    """A second, short vector for a key-value table: its section's own heading and the
    first row's value.

    Why: a reference table embeds as one text (its labels, one row each: description,
    usage, default value, scope...), and a question describing the behaviour ("how many
    requests may one persistent connection carry?") is far closer to the description
    alone. Measured with USE-m3 on that question: the whole table 0.38, breadcrumb +
    "Description:" row 0.40, "MaxKeepAliveRequests\nNumber of requests allowed on a
    persistent connection." 0.54 (the page title and the row key are noise here).
    Answers come from the table chunk; the card only brings its section up.
    """
    if table.header_rows or not table.header_col:
        return None
    rows = row_sentences(table)
    if len(rows) < 3:
        return None
    cells = [cell.text for cell in rows[0][1] if cell.text and not cell.col_copy][1:]
    if not cells:
        return None
    own = section.heading_path[-1] if section.heading_path else header
    return f"{own}\n{' / '.join(cells)}", markdown(table, [rows[0][1]])


UNIT_MIN_ITEMS = 3  # a list with fewer items is read whole from its chunk anyway
UNIT_MAX_CHARS = 300  # a longer item is a paragraph, found by the section's own chunks
_LIST_ITEM = re.compile(r"^(?:• |\d+\.\s)")


def unit_texts(section: Section, header: str) -> list[tuple[str, str, str]]:
    """(kind, text, table_md) of the section's small retrieval units: each list item or
    `term: definition` entry of a list of at least UNIT_MIN_ITEMS (after the breadcrumb).

    Why: a question asks for one item and a chunk of twenty embeds as their average and
    dilutes the item's words for BM25; a unit of one item is found by itself. It belongs
    to its section like any chunk (the section is the result: small-to-big). Table rows
    are not units here: they have their own lane (ingest.rows, core.rows), which cannot
    crowd the chunks out of the candidate lists (SMALL_UNITS with rows did, README).
    """
    return [(record.KIND_TEXT, f"{header}\n{item}", "") for item in list_items(section)]


def list_items(section: Section) -> list[str]:
    """The section's list items and `term: definition` entries, when it has at least
    UNIT_MIN_ITEMS of them (each at most UNIT_MAX_CHARS long): the small units a question
    asks for one at a time (SMALL_UNITS chunks; the row lane, ingest.rows)."""
    items = [b for b in section.blocks if len(b) <= UNIT_MAX_CHARS and (_LIST_ITEM.match(b) or _KEY_VALUE.match(b))]
    return items if len(items) >= UNIT_MIN_ITEMS else []


def section_header(page: Page, section: Section) -> str:
    """The line every chunk of a section starts with: its breadcrumb (the page title when
    it has none), after the parent page's title."""
    crumb = breadcrumb(section) or page.title
    return record.breadcrumb([page.parent, crumb]) if page.parent else crumb


def page_nodes(page: Page, proser: TableProser, chunker: Chunker, doc_hash: str) -> list[TextNode]:
    """All chunks of a page, in reading order (a section's small units after its chunks)."""
    pieces: list[tuple[Section, str, str, str, bool, bool]] = []  # (section, kind, text, table_md, card, unit)
    for section in page.sections:
        crumb = breadcrumb(section) or page.title
        # The parent page's title leads the line every chunk of the page is found by.
        header = section_header(page, section)
        if section.blocks:
            budget = chunker.chunk_size - chunker.count(header) - 1
            texts = key_value_pieces(section.blocks, chunker, budget) or chunker.split_text("\n".join(section.blocks), budget)
            for piece in texts:
                pieces.append((section, record.KIND_TEXT, f"{header}\n{piece}", "", False, False))
        for table in section.tables:
            for text, table_md in _table_chunks(table, section, crumb, proser, chunker, header):
                pieces.append((section, record.KIND_TABLE, text, table_md, False, False))
            card = _card(table, section, crumb)
            if card:
                pieces.append((section, record.KIND_TABLE, *card, True, False))
        if chunker.small_units:
            whole = {text for _, _, text, _, _, _ in pieces}
            pieces += [(section, kind, text, table_md, False, True) for kind, text, table_md in unit_texts(section, header)
                       if text not in whole]  # a one-row chunk is its own unit already

    seen: Counter[str] = Counter()
    nodes = []
    for position, (section, kind, text, table_md, card, unit) in enumerate(pieces):
        seen[text] += 1
        digest = hashlib.sha256(f"{page.path}\x1f{text}\x1f{seen[text]}".encode("utf-8")).hexdigest()[:32]
        metadata = record.chunk_metadata(
            path=page.path, title=page.title, anchor=section.anchor or "", heading=breadcrumb(section),
            lang=page.lang, kind=kind, position=position, links=record.links_field(section.links),
            table_md=table_md, card=card, doc_hash=doc_hash, unit=unit, keywords=", ".join(section.keywords),
        )
        node = TextNode(id_=digest, text=text, metadata=metadata)
        # Everything the embedding needs is in the text; metadata stays out of the vector.
        node.excluded_embed_metadata_keys = list(metadata)
        node.excluded_llm_metadata_keys = list(metadata)
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=page.path)
        nodes.append(node)
    return nodes


def lexical_text(node: TextNode) -> str:
    """What BM25 indexes: the chunk text plus the table's structured form."""
    table_md = node.metadata.get(record.TABLE_MD) or ""
    return f"{node.text}\n{table_md}" if table_md else node.text
