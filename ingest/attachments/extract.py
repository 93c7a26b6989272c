"""An attachment's bytes -> `Extracted`, by the type its content declares.

Checks come before any reader library sees the bytes: the size limit (MAX_FILE_MB), the
ZIP limits for the ZIP-based formats (ingest.attachments.safety), encryption. Every
failure is an `AttachmentError` whose message is the reason the report shows; a reader's
unexpected exception is wrapped the same way by the caller, so a bad attachment never
stops the batch.
"""

from __future__ import annotations

from ingest.attachments import docx, image, owpml, pdf, plain, pptx, xls, xlsx
from ingest.attachments.safety import ZipLimits, check_zip
from ingest.attachments.sniff import sniff
from ingest.attachments.units import AttachmentError, Extracted, FileType

_ZIPPED = {FileType.XLSX, FileType.DOCX, FileType.PPTX, FileType.HWPX}
_UNSUPPORTED = {
    FileType.ZIP: "a ZIP archive (archives are not unpacked)",
    FileType.OLE: "a legacy Office binary other than .xls (.doc/.ppt: save as .docx/.pptx)",
    FileType.UNKNOWN: "an unrecognised format",
}

# One reader per format (the PDF and image readers, which may run OCR, are called apart).
_READERS = {
    FileType.XLSX: xlsx.extract, FileType.XLS: xls.extract, FileType.DOCX: docx.extract,
    FileType.PPTX: pptx.extract, FileType.HWPX: owpml.extract_hwpx, FileType.HWP: owpml.extract_hwp,
    FileType.CSV: plain.extract_csv, FileType.TXT: plain.extract_txt,
}


class Unsupported(AttachmentError):
    """A format we do not read: reported as skipped, not as a failure."""


def extract(raw: bytes, name: str, *, max_mb: float = 20.0, limits: ZipLimits = ZipLimits(),
            ocr_mode: str = "auto") -> Extracted:
    if len(raw) > max_mb * 1048576:
        raise AttachmentError(f"too large ({len(raw) / 1048576:.1f} MB > {max_mb:g} MB limit, MAX_FILE_MB)")
    kind = sniff(raw, name)
    if kind in _UNSUPPORTED:
        raise Unsupported(f"not indexed: {_UNSUPPORTED[kind]}")
    if kind is FileType.ENCRYPTED_OFFICE:
        raise AttachmentError("password-protected Office file (encrypted package); not indexed")
    if kind in _ZIPPED:
        check_zip(raw, limits)
    if kind is FileType.PDF:  # the two readers that may call Tesseract take the OCR mode
        return pdf.extract(raw, name, ocr_mode)
    reader = _READERS.get(kind)
    return reader(raw, name) if reader else image.extract(raw, name, ocr_mode)
