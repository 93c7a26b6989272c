"""XLSX -> one unit per sheet: the sheet's used range as one table (merged header cells
resolved, formulas as their computed values), cell notes as text.

openpyxl, the maintained reader of the format, opened with `data_only=True`: a formula
cell then holds the value Excel (or LibreOffice) computed when the file was saved, which
is what the sheet shows; a file saved by a program that computes nothing has no such
value, and the formula text is used instead (noted in the report). Not read-only mode:
only the full mode reports merged ranges, which decide the header labels.

LlamaIndex's `PandasExcelReader` (pandas over openpyxl), measured on the sample price
sheet: it takes the merged title row for the header ("2026년 모바일 요금표 (부가세 포함):
5G 라이트, Unnamed: 1: 39000, Unnamed: 2: 29250"), so the group label "월 요금" and its
sub-columns never reach the values, and it drops the number format (39000, not 39,000원).
"""

from __future__ import annotations

import io
from urllib.parse import quote

from ingest.attachments.cells import shown
from ingest.attachments.grid import Merge, build_table
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit

MAX_CELLS = 200_000  # per sheet; a larger sheet is a data dump, read up to here (noted)


def sheet_unit(name: str, index: int, rows: list[list[str]], merges: list[Merge]) -> Unit:
    table = build_table(rows, merges)
    unit = Unit(anchor=f"sheet={quote(name)}", location=f"sheet {name}", headings=[name])
    if table is not None:
        unit.tables.append(table)
    return unit


def _uncomputed(raw: bytes) -> bool:
    """A formula cell without a cached value in any sheet's XML (`<f>..</f></c>`, no `<v>`)."""
    import re
    import zipfile

    pattern = re.compile(rb"</f>\s*</c>|<f[^>]*/>\s*</c>|</f>\s*<v\s*/>")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return any(pattern.search(archive.read(n)) for n in archive.namelist()
                   if n.startswith("xl/worksheets/") and n.endswith(".xml"))


def extract(raw: bytes, name: str) -> Extracted:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True, read_only=False)
        # the formulas only when some formula cell was saved without its value (rare)
        formulas = openpyxl.load_workbook(io.BytesIO(raw), data_only=False) if _uncomputed(raw) else None
    except (InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise AttachmentError(f"corrupt XLSX: {type(exc).__name__}: {exc}") from None
    title = (book.properties.title or "").strip() if book.properties else ""
    result = Extracted(FileType.XLSX, title=title or name)
    uncomputed = 0
    for index, sheet in enumerate(book.worksheets):
        if sheet.sheet_state != "visible":
            continue
        raw_sheet = formulas[sheet.title] if formulas is not None else None
        rows: list[list[str]] = []
        notes: list[str] = []
        cells = 0
        for row in sheet.iter_rows():
            values = []
            for cell in row:
                value = cell.value
                if value is None and raw_sheet is not None:
                    source = raw_sheet.cell(row=cell.row, column=cell.column).value
                    if isinstance(source, str) and source.startswith("="):
                        value, uncomputed = source, uncomputed + 1
                values.append(shown(value, cell.number_format))
                if cell.comment is not None and cell.comment.text.strip():
                    notes.append(f"{cell.coordinate}: {' '.join(cell.comment.text.split())}")
            rows.append(values)
            cells += len(row)
            if cells > MAX_CELLS:
                result.notes.append(f"sheet {sheet.title}: read the first {len(rows)} rows ({MAX_CELLS} cells)")
                break
        merges = [Merge(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in sheet.merged_cells.ranges]
        unit = sheet_unit(sheet.title, index, rows, merges)
        unit.blocks.extend(notes)
        if not unit.empty:
            result.units.append(unit)
    if uncomputed:
        result.notes.append(f"{uncomputed} formula cell(s) saved without a computed value: indexed as the formula")
    return result
