"""DOCX -> one unit per heading section: paragraphs, numbered steps, tables, in order.

python-docx, the maintained reader. Its `Document.paragraphs`/`.tables` lists lose the
order between the two, so the body's children are walked directly. Headings are the
paragraphs whose style is a built-in heading ("Heading 1", localised "제목 1") or that
carry an outline level; a numbered paragraph (`w:numPr`) gets its number ("1.", "2.")
counted per list and level, since the number is drawn by Word and is not in the text.
Merged table cells (`gridSpan`, `vMerge`) come back from python-docx as the same cell
object repeated, so a repeat to the right is marked as a colspan copy.

LlamaIndex's `DocxReader` (docx2txt), measured on the sample procedure: the steps come
out without their numbers ("Scan the passport's photo page ..." where Word shows "2."),
no headings, tables as loose cell lines.
"""

from __future__ import annotations

import io
import re
import zipfile

from ingest.attachments.grid import Merge, build_table
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit

_HEADING_STYLE = re.compile(r"^(heading|제목|title)\s*(\d)?$", re.I)


def _heading_level(paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = _HEADING_STYLE.match(name.strip())
    if match:
        return int(match.group(2) or 1) if match.group(1).lower() != "title" else 0
    ppr = paragraph._p.pPr
    if ppr is not None:
        outline = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
        if outline is not None:
            return int(outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val", 0)) + 1
    return None


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _num_pr(paragraph):
    """The paragraph's numbering (numPr), its own or its style's (a "List Number" style
    numbers every paragraph without a numPr of their own)."""
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.numPr is not None and ppr.numPr.numId is not None:
        return ppr.numPr
    style = paragraph.style
    while style is not None:
        spr = style.element.pPr
        if spr is not None and spr.numPr is not None and spr.numPr.numId is not None:
            return spr.numPr
        style = style.base_style
    return None


def _formats(document) -> dict[tuple[str, int], str]:
    """(numId, level) -> numFmt ("decimal", "bullet", "ganada", ...) from numbering.xml."""
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return {}
    abstract = {}
    for node in numbering.iterchildren(f"{W}abstractNum"):
        levels = {}
        for lvl in node.iterchildren(f"{W}lvl"):
            fmt = lvl.find(f"{W}numFmt")
            levels[int(lvl.get(f"{W}ilvl", 0))] = fmt.get(f"{W}val") if fmt is not None else "decimal"
        abstract[node.get(f"{W}abstractNumId")] = levels
    out = {}
    for num in numbering.iterchildren(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        if ref is not None:
            for level, fmt in abstract.get(ref.get(f"{W}val"), {}).items():
                out[(num.get(f"{W}numId"), level)] = fmt
    return out


def _table_rows(table) -> tuple[list[list[str]], list[tuple[int, int]]]:
    rows, copies = [], []
    for r, row in enumerate(table.rows):
        values, previous = [], None
        for c, cell in enumerate(row.cells):
            values.append(" ".join(cell.text.split()))
            if previous is not None and cell._tc is previous:
                copies.append((r, c))
            previous = cell._tc
        rows.append(values)
    return rows, copies


def extract(raw: bytes, name: str) -> Extracted:
    import docx
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise AttachmentError(f"corrupt DOCX: {type(exc).__name__}: {exc}") from None
    title = (document.core_properties.title or "").strip()
    result = Extracted(FileType.DOCX, title=title or name)
    heads: list[tuple[int, str]] = []
    unit = Unit(anchor="", location="")
    counters: dict[tuple[str, int], int] = {}
    formats = _formats(document)
    sections = 0

    def close() -> None:
        if not unit.empty:
            result.units.append(unit)

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = " ".join(paragraph.text.split())
            if not text:
                continue
            level = _heading_level(paragraph)
            if level is not None:
                if level == 0 and not title:
                    result.title = text
                close()
                heads = [h for h in heads if h[0] < max(level, 1)] + [(max(level, 1), text)]
                sections += 1
                path = [h[1] for h in heads]
                unit = Unit(anchor=f"section={sections}", location=" › ".join(path), headings=path)
                counters.clear()
                continue
            numpr = _num_pr(paragraph)
            if numpr is not None:
                key = (str(numpr.numId.val), int(numpr.ilvl.val) if numpr.ilvl is not None else 0)
                if formats.get(key, "decimal") in ("bullet", "none"):
                    text = f"• {text}"
                else:
                    counters[key] = counters.get(key, 0) + 1
                    for other in [k for k in counters if k[0] == key[0] and k[1] > key[1]]:
                        del counters[other]  # a deeper level restarts under each item
                    text = f"{counters[key]}. {text}"
            unit.blocks.append(text)
        elif tag == "tbl":
            rows, copies = _table_rows(DocxTable(child, document))
            table = build_table(rows, [Merge(r, c - 1, r, c) for r, c in copies])
            if table is not None:
                unit.tables.append(table)
    close()
    return result
