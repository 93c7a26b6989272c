"""PPTX -> one unit per slide: its title, text frames (bullets by level), tables, notes.

python-pptx, the maintained reader. Shapes are read in the slide's order, groups
recursively; a table's merged cells (`is_spanned`) are colspan copies of their origin.

LlamaIndex's `PptxReader` (also python-pptx) puts tables, notes and text runs into
list-valued metadata (`tables`, `text_sections`, `images`), which Chroma refuses: a
plain-LlamaIndex baseline has to flatten it (scripts/evaluate.py) before storing.
"""

from __future__ import annotations

import io
import zipfile

from ingest.attachments.grid import Merge, build_table
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit


def _shapes(shapes):
    for shape in shapes:
        if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _table(shape):
    rows, merges = [], []
    for r, row in enumerate(shape.table.rows):
        values = []
        for c, cell in enumerate(row.cells):
            values.append(" ".join(cell.text.split()))
            if cell.is_merge_origin and (cell.span_width > 1 or cell.span_height > 1):
                merges.append(Merge(r, c, r + cell.span_height - 1, c + cell.span_width - 1))
        rows.append(values)
    return build_table(rows, merges)


def extract(raw: bytes, name: str) -> Extracted:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise AttachmentError(f"corrupt PPTX: {type(exc).__name__}: {exc}") from None
    title = (deck.core_properties.title or "").strip()
    result = Extracted(FileType.PPTX, title=title or name)
    for number, slide in enumerate(deck.slides, start=1):
        heading = ""
        if slide.shapes.title is not None and slide.shapes.title.has_text_frame:
            heading = " ".join(slide.shapes.title.text_frame.text.split())
        unit = Unit(anchor=f"slide={number}", location=f"slide {number}",
                    headings=[f"{number}. {heading}" if heading else f"slide {number}"])
        for shape in _shapes(slide.shapes):
            if shape == slide.shapes.title:
                continue
            if getattr(shape, "has_table", False) and shape.has_table:
                table = _table(shape)
                if table is not None:
                    unit.tables.append(table)
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                for paragraph in shape.text_frame.paragraphs:
                    text = " ".join("".join(run.text for run in paragraph.runs).split())
                    if text:
                        unit.blocks.append(("• " if paragraph.level else "") + text)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = " ".join(slide.notes_slide.notes_text_frame.text.split())
            if notes:
                unit.blocks.append(notes)
        if not unit.empty:
            result.units.append(unit)
    return result
