"""CSV -> one table (header: the first row when it is all labels); TXT -> paragraphs.

The standard library's `csv` (with `Sniffer` for the delimiter); the encoding is UTF-8,
UTF-16 with BOM or CP949, the encodings Korean spreadsheet exports use.
"""

from __future__ import annotations

import csv
import io

from ingest.attachments.grid import build_table
from ingest.attachments.sniff import decode_text
from ingest.attachments.text_blocks import paragraphs
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit


def extract_csv(raw: bytes, name: str) -> Extracted:
    text = decode_text(raw)
    if text is None:
        raise AttachmentError("CSV in an unknown encoding (not UTF-8, UTF-16 or CP949)")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect)]
    result = Extracted(FileType.CSV, title=name)
    table = build_table(rows)
    if table is not None:
        result.units.append(Unit(anchor="", location="", tables=[table]))
    return result


def extract_txt(raw: bytes, name: str) -> Extracted:
    text = decode_text(raw)
    if text is None:
        raise AttachmentError("text file in an unknown encoding (not UTF-8, UTF-16 or CP949)")
    result = Extracted(FileType.TXT, title=name)
    unit = Unit(anchor="", location="", blocks=paragraphs(text))
    if not unit.empty:
        result.units.append(unit)
    return result
