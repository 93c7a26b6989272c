"""`Extracted` units -> the `Page`/`Section` shape HTML manuals parse into, so attachments
are chunked, prosed, tokenized and embedded by exactly the code pages are (ingest.chunk).

Each unit becomes a section: heading path = the document's title, then the unit's own
headings (sheet name, slide title, heading path) or its location ("p. 4"); anchor = the
unit's URL fragment. The page that links to the file lends its title as the chunk's
first-line parent (as `<link rel="up">` does for pages), so "2026년 요금표 › 단말기" is
found under "단말기 할부 구매 안내" too.
"""

from __future__ import annotations

from core.chunk_record import page_language
from ingest.attachments.units import Extracted
from ingest.parse import Page, Section

_LANG_SAMPLE = 20000


def to_page(extracted: Extracted, path: str, parent: str = "") -> Page:
    title = extracted.title
    sections = []
    sample: list[str] = []
    for unit in extracted.units:
        own = unit.headings or ([unit.location] if unit.location else [])
        heading_path = [title] + [h for h in own if h != title]
        sections.append(Section(heading_path=heading_path, anchor=unit.anchor or None, level=1,
                                blocks=list(unit.blocks), tables=list(unit.tables), links=[]))
        if sum(map(len, sample)) < _LANG_SAMPLE:
            sample.extend(unit.blocks)
            sample.extend(v for table in unit.tables for v in table.values()[:200])
    lang = page_language("", path, " ".join(sample))
    return Page(path=path, title=title, lang=lang, sections=sections, parent=parent)


def locations(extracted: Extracted) -> dict[str, str]:
    """Anchor -> location label, to put on each chunk."""
    return {unit.anchor: unit.location for unit in extracted.units}
