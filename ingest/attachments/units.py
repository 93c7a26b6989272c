"""What every attachment extractor produces: typed units, each at one place in the file.

A unit is what a citation can point at: a PDF page, a spreadsheet sheet, a slide, a
section of a word-processor document under its heading path. It carries text blocks and
tables as `ingest.tables.Table` cell grids, the same type HTML tables become, so an
attachment's table goes through the same prose/markdown/row-chunking path as a page's
(`ingest.chunk`, `ingest.table_prose`): no second table renderer to keep faithful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ingest.tables import Table


class FileType(str, Enum):
    """A file's type as its bytes say (ingest.attachments.sniff), never its extension."""

    PDF = "pdf"
    XLSX = "xlsx"
    XLS = "xls"
    DOCX = "docx"
    PPTX = "pptx"
    HWPX = "hwpx"
    HWP = "hwp"
    CSV = "csv"
    TXT = "txt"
    IMAGE = "image"
    ZIP = "zip"  # a ZIP that is none of the Office/HWPX packages
    OLE = "ole"  # an OLE2 file that is neither .xls nor .hwp (.doc, .ppt, ...)
    ENCRYPTED_OFFICE = "encrypted-office"  # an OOXML package wrapped in OLE2 encryption
    UNKNOWN = "unknown"


SUPPORTED = frozenset({FileType.PDF, FileType.XLSX, FileType.XLS, FileType.DOCX, FileType.PPTX,
                       FileType.HWPX, FileType.HWP, FileType.CSV, FileType.TXT, FileType.IMAGE})


class AttachmentError(Exception):
    """An attachment that cannot be indexed; the message is the reason the report shows."""


class NothingToIndex(AttachmentError):
    """A readable file without text (a photo, a logo): skipped quietly, not a failure."""


@dataclass
class Unit:
    """One citable place in a file.

    `anchor` is the URL fragment a link opens it with (`page=4` works in browsers' PDF
    viewers; `sheet=...`/`slide=3` name the place for people and never break a link);
    `location` is the label shown with the source ("p. 4", "sheet 5G 요금제", "slide 3");
    `headings` the heading path inside the unit (a DOCX/HWPX section's headings).
    """

    anchor: str
    location: str
    headings: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(b.strip() for b in self.blocks) and not self.tables


@dataclass
class Extracted:
    """A whole file: its type, a title (the document's own, else its file name), its units,
    and notes for the report (what was skipped and why, e.g. pages without a text layer)."""

    type: FileType
    title: str
    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ocr_pages: int = 0  # pages/images read by OCR
