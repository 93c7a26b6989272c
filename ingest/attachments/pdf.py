"""PDF -> one unit per page (text layer; OCR for pages without one when available).

Library choice, measured on a real Korean PDF (the Debian installation guide, 151 pages,
1 MB, `scripts/bench_ingest.py --attachments` prints the same comparison):

| library     | time  | Hangul chars | word spaces in justified Korean lines |
|-------------|-------|--------------|----------------------------------------|
| pypdfium2   | 1.7 s | 112,016      | kept ("이 한국어 번역은 여러 분들이")   |
| pypdf       | 6.4 s | 111,994      | lost ("이한국어번역은여러분들이")       |
| pdfplumber  | 14.3 s| 112,016      | mostly lost                            |

pypdfium2 (Google's PDFium, the Chrome viewer's engine) is 4x faster than pypdf and the
only one that keeps the spaces between Korean words in justified lines, which Kiwi and
the BM25 bigrams need. It also reports encryption and damage as distinct errors.
Tables in a PDF are read as text lines (a row stays on one line with its values in
order); pdfplumber's table finder would give grids but costs 8x the time of the whole
extraction, so it is not used.
"""

from __future__ import annotations

from ingest.attachments import ocr
from ingest.attachments.text_blocks import paragraphs
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit

_MIN_TEXT = 16  # characters below which a page counts as having no text layer
TOC_DEPTH = 2  # outline levels kept in a page's heading path ("3. 설치 › 3.2 디스크 분할")


def outline_paths(doc, pages: int) -> list[list[str]]:
    """Each page's heading path from the PDF's outline (bookmarks): the entries, one per
    level, that start on or before the page. A citation then says where in the document
    a page is ("제3장 손해배상 › p. 3"), as a page's breadcrumb does; a PDF without an
    outline gives empty paths."""
    import logging

    entries: list[tuple[int, int, str]] = []  # (page index, level, title) in outline order
    quiet = logging.getLogger("pypdfium2")
    level_before = quiet.level
    quiet.setLevel(logging.ERROR)  # "maximum recursion depth reached": deeper levels are skipped on purpose
    try:
        for mark in doc.get_toc(max_depth=TOC_DEPTH - 1):
            dest = mark.get_dest()
            index = dest.get_index() if dest is not None else None
            title = " ".join((mark.get_title() or "").split())
            if index is not None and title and 0 <= index < pages:
                entries.append((index, mark.level, title))
    except Exception:  # a damaged outline costs the headings, never the text
        entries = []
    finally:
        quiet.setLevel(level_before)
    entries.sort(key=lambda e: e[0])  # stable: outline order within a page
    paths, stack, e = [], [], 0
    for page in range(pages):
        while e < len(entries) and entries[e][0] <= page:
            _, level, title = entries[e]
            stack = stack[:level] + [title]
            e += 1
        paths.append(list(stack))
    return paths


def extract(raw: bytes, name: str, ocr_mode: str = "auto") -> Extracted:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message:
            raise AttachmentError("encrypted PDF (password required); not indexed") from None
        raise AttachmentError(f"corrupt PDF: {exc}") from None
    try:
        title = (doc.get_metadata_dict().get("Title") or "").strip()
        result = Extracted(FileType.PDF, title=title or name)
        blank: list[int] = []
        can_ocr = ocr.available(ocr_mode)
        headings = outline_paths(doc, len(doc))
        for index in range(len(doc)):
            page = doc[index]
            number = index + 1
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            if len("".join(text.split())) < _MIN_TEXT:
                if can_ocr:
                    image = page.render(scale=300 / 72).to_pil()
                    text = ocr.image_text(image)
                    result.ocr_pages += 1
                else:
                    blank.append(number)
            page.close()
            unit = Unit(anchor=f"page={number}", location=f"p. {number}", blocks=paragraphs(text),
                        headings=headings[index] + [f"p. {number}"])
            if not unit.empty:
                result.units.append(unit)
        if blank:
            if not result.units:
                raise AttachmentError(
                    f"image-only PDF ({len(blank)} page(s) without a text layer) and no OCR "
                    f"({ocr.skipped_reason(ocr_mode)}); not indexed")
            result.notes.append(f"{len(blank)} page(s) without a text layer not read (no OCR: "
                                f"{ocr.skipped_reason(ocr_mode)}): p. {', '.join(map(str, blank[:10]))}")
        return result
    finally:
        doc.close()
