"""HWPX (OWPML, KS X 6101) and HWP 5.x -> one unit per heading section: paragraphs and
tables, in order.

HWPX is a ZIP of XML: `Contents/section*.xml` hold paragraphs (`hp:p`) whose runs carry
text (`hp:t`) and tables (`hp:tbl`, cells with `hp:cellAddr`/`hp:cellSpan`);
`Contents/header.xml` holds the styles and paragraph shapes that say which paragraphs are
headings ("개요 1", an outline level). It is read here with lxml directly: the XML is
regular and this walk is a few dozen lines, where a document-model library would build
objects for formatting we do not use.

HWP 5.x (the OLE2 binary format) is converted to the same OWPML parts by `python-hwpx`
(`hwpx.hwp5.package.convert`): the one maintained PyPI package (Apache-2.0, 2026) that
reads and writes both formats. LlamaIndex's `HWPReader` (olefile + zlib), measured on
`data/manuals/forms/transfer_form.hwp`: the text comes out, but with control records
decoded as CJK characters ("\x02捤獥\x00..." before the title, "氠瑢" where the table
starts) and every table cell on a line of its own, header and value apart, so "멤버십
포인트 / 승계되지 않고 소멸" is no longer one row. `pyhwp` was not tried: its last release is
from 2020. Docling's HWP backend (`hangulang`, Rust) is an experimental opt-in this year.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping

from lxml import etree

from ingest.attachments.grid import Merge, build_table
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit

HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
HH = "{http://www.hancom.co.kr/hwpml/2011/head}"
_HEADING_STYLE = re.compile(r"^(개요|제목|heading|outline)\s*(\d)", re.I)
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _heading_levels(header: bytes | None) -> tuple[dict[str, int], dict[str, int]]:
    """(style id -> level, paragraph-shape id -> level) for heading styles/outline shapes."""
    styles: dict[str, int] = {}
    shapes: dict[str, int] = {}
    if not header:
        return styles, shapes
    root = etree.fromstring(header, _PARSER)
    for style in root.iter(f"{HH}style"):
        for name in (style.get("name") or "", style.get("engName") or ""):
            match = _HEADING_STYLE.match(name.strip())
            if match:
                styles[style.get("id", "")] = int(match.group(2))
                break
    for shape in root.iter(f"{HH}paraPr"):
        heading = shape.find(f"{HH}heading")
        if heading is not None and heading.get("type") == "OUTLINE":
            shapes[shape.get("id", "")] = int(heading.get("level", "0")) + 1
    return styles, shapes


def _text(element) -> str:
    """A paragraph's own text: its runs' `hp:t`, not the text of tables inside them."""
    parts = []
    for run in element.iterchildren(f"{HP}run"):
        for t in run.iterchildren(f"{HP}t"):
            parts.append("".join(t.itertext()))
    return " ".join("".join(parts).split())


def _cell_text(cell) -> str:
    return " ".join(" ".join("".join(t.itertext()) for t in cell.iter(f"{HP}t")).split())


def _table(tbl):
    rows_n = int(tbl.get("rowCnt") or 0)
    cols_n = int(tbl.get("colCnt") or 0)
    cells = []
    for r_index, tr in enumerate(tbl.iterchildren(f"{HP}tr")):
        for c_index, tc in enumerate(tr.iterchildren(f"{HP}tc")):
            addr, span = tc.find(f"{HP}cellAddr"), tc.find(f"{HP}cellSpan")
            row = int(addr.get("rowAddr", r_index)) if addr is not None else r_index
            col = int(addr.get("colAddr", c_index)) if addr is not None else c_index
            rs = int(span.get("rowSpan", 1)) if span is not None else 1
            cs = int(span.get("colSpan", 1)) if span is not None else 1
            cells.append((row, col, rs, cs, _cell_text(tc)))
    if not cells:
        return None
    rows_n = max(rows_n, max(r + rs for r, _, rs, _, _ in cells))
    cols_n = max(cols_n, max(c + cs for _, c, _, cs, _ in cells))
    if rows_n * cols_n > 100_000:
        return None
    grid = [[""] * cols_n for _ in range(rows_n)]
    merges = []
    for r, c, rs, cs, text in cells:
        grid[r][c] = text
        if rs > 1 or cs > 1:
            merges.append(Merge(r, c, r + rs - 1, c + cs - 1))
    return build_table(grid, merges)


def read_parts(files: Mapping[str, bytes], file_type: FileType, name: str) -> Extracted:
    styles, shapes = _heading_levels(files.get("Contents/header.xml"))
    sections = sorted((int(m.group(1)), n) for n in files if (m := _SECTION.match(n)))
    if not sections:
        raise AttachmentError(f"corrupt {file_type.value.upper()}: no Contents/section*.xml")
    result = Extracted(file_type, title=name)
    heads: list[tuple[int, str]] = []
    unit = Unit(anchor="", location="")
    count = 0
    for _, part in sections:
        root = etree.fromstring(files[part], _PARSER)
        for paragraph in root.iterchildren(f"{HP}p"):
            text = _text(paragraph)
            level = styles.get(paragraph.get("styleIDRef", "")) or shapes.get(paragraph.get("paraPrIDRef", ""))
            if level and text:
                if not unit.empty:
                    result.units.append(unit)
                heads = [h for h in heads if h[0] < level] + [(level, text)]
                count += 1
                path = [h[1] for h in heads]
                unit = Unit(anchor=f"section={count}", location=" › ".join(path), headings=path)
                continue
            if text:
                unit.blocks.append(text)
            for run in paragraph.iterchildren(f"{HP}run"):
                for tbl in run.iterchildren(f"{HP}tbl"):
                    table = _table(tbl)
                    if table is not None:
                        unit.tables.append(table)
    if not unit.empty:
        result.units.append(unit)
    first = next((b for u in result.units for b in u.blocks), "")
    if first and len(first) <= 60 and not result.units[0].headings:
        result.title = first  # a form's first line is its title ("양도·양수 동의서")
    return result


def extract_hwpx(raw: bytes, name: str) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            wanted = [n for n in archive.namelist() if _SECTION.match(n) or n == "Contents/header.xml"]
            files = {n: archive.read(n) for n in wanted}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AttachmentError(f"corrupt HWPX: {exc}") from None
    try:
        return read_parts(files, FileType.HWPX, name)
    except etree.XMLSyntaxError as exc:
        raise AttachmentError(f"corrupt HWPX: {exc}") from None


def extract_hwp(raw: bytes, name: str) -> Extracted:
    import warnings

    from hwpx.hwp5.package import convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = convert(raw)
    except Exception as exc:  # python-hwpx raises Hwp5Error (and struct errors on damage)
        message = str(exc)
        if any(word in message.lower() for word in ("password", "encrypt", "protect", "distribut")):
            raise AttachmentError(f"password-protected or distribution-locked HWP: {message}; not indexed") from None
        raise AttachmentError(f"corrupt HWP: {type(exc).__name__}: {message}") from None
    result = read_parts(converted.files, FileType.HWP, name)
    if converted.report.unconverted:
        kinds = ", ".join(f"{k} x{v}" for k, v in sorted(converted.report.unconverted.items()))
        result.notes.append(f"HWP content not read: {kinds}")
    return result
