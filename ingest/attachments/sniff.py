"""A file's type from its first bytes (and, for containers, its member names).

Why by content: attachments are renamed, saved with the wrong extension by mail clients,
or served as `download.do?id=3`; an `.xls` that is really an HTML export, or an `.xlsx`
that is a password-protected OLE2 wrapper, must go to the right reader or be reported for
what it is. Only the head of the file and, for ZIP/OLE2, the directory are read.
"""

from __future__ import annotations

import io
import zipfile

from ingest.attachments.units import FileType

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_TEXT_PROBE = 65536


def sniff(raw: bytes, name: str = "") -> FileType:
    head = raw[:1024]
    if b"%PDF-" in head:
        return FileType.PDF
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return _zip_type(raw)
    if raw.startswith(_OLE2):
        return _ole_type(raw)
    bmp = raw.startswith(b"BM") and raw[6:10] == b"\0\0\0\0"  # "BM", size, two reserved zero words
    if raw.startswith(_IMAGES) or bmp or (raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"):
        return FileType.IMAGE
    return _text_type(raw, name)


def _zip_type(raw: bytes) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:64]
                if b"hwp" in mimetype:
                    return FileType.HWPX
    except (zipfile.BadZipFile, OSError, ValueError):
        return FileType.ZIP
    if "xl/workbook.xml" in names:
        return FileType.XLSX
    if "word/document.xml" in names:
        return FileType.DOCX
    if "ppt/presentation.xml" in names:
        return FileType.PPTX
    if "Contents/section0.xml" in names:
        return FileType.HWPX
    return FileType.ZIP


def _ole_type(raw: bytes) -> FileType:
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(raw)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
    except (OSError, ValueError):  # olefile raises OSError for a damaged compound file
        return FileType.OLE
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        return FileType.ENCRYPTED_OFFICE
    if "FileHeader" in streams and any(s.startswith("BodyText") for s in streams):
        return FileType.HWP
    if "Workbook" in streams or "Book" in streams:
        return FileType.XLS
    return FileType.OLE


def decode_text(raw: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else CP949 (Korean Windows exports);
    None for bytes that are not text (NULs, undecodable)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in raw[:_TEXT_PROBE]:
        return None
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _text_type(raw: bytes, name: str) -> FileType:
    text = decode_text(raw[:_TEXT_PROBE]) if len(raw) > _TEXT_PROBE else decode_text(raw)
    if text is None:
        # a multi-byte character cut at the probe's end: try the whole file
        text = decode_text(raw) if len(raw) > _TEXT_PROBE else None
    if text is None:
        return FileType.UNKNOWN
    if _looks_delimited(text) or name.lower().endswith(".csv"):
        return FileType.CSV
    return FileType.TXT


def _looks_delimited(text: str) -> bool:
    """Three or more lines with the same number (>= 1) of commas, or of tabs."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) < 3:
        return False
    for sep in (",", "\t"):
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and next(iter(counts)) >= 1:
            return True
    return False
