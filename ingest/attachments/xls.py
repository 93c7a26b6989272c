"""XLS (Excel 97-2003, OLE2) -> one unit per sheet, as `xlsx`.

xlrd 2.x, the maintained reader of the old binary format (it dropped .xlsx, which openpyxl
reads); `formatting_info=True` is needed for the merged ranges. Formula cells hold the
value Excel saved.
"""

from __future__ import annotations

import datetime as dt

from ingest.attachments.cells import shown
from ingest.attachments.grid import Merge
from ingest.attachments.units import AttachmentError, Extracted, FileType
from ingest.attachments.xlsx import sheet_unit


def extract(raw: bytes, name: str) -> Extracted:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=raw, formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError and assorted struct errors on damage
        message = str(exc)
        if "encrypt" in message.lower() or "password" in message.lower():
            raise AttachmentError("password-protected XLS; not indexed") from None
        raise AttachmentError(f"corrupt XLS: {message}") from None
    result = Extracted(FileType.XLS, title=name)
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        rows = []
        for r in range(sheet.nrows):
            values = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                value = cell.value
                if cell.ctype == xlrd.XL_CELL_DATE:
                    value = dt.datetime(*xlrd.xldate_as_tuple(value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_NUMBER:
                    fmt = book.format_map.get(book.xf_list[cell.xf_index].format_key) if cell.xf_index is not None else None
                    values.append(shown(value, fmt.format_str if fmt else "General"))
                    continue
                values.append(shown(value))
            rows.append(values)
        merges = [Merge(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sheet.merged_cells]
        unit = sheet_unit(sheet.name, index, rows, merges)
        if not unit.empty:
            result.units.append(unit)
    return result
