"""An image file -> its text through OCR (ingest.attachments.ocr), when available."""

from __future__ import annotations

import io

from ingest.attachments import ocr
from ingest.attachments.text_blocks import paragraphs
from ingest.attachments.units import AttachmentError, Extracted, FileType, Unit


def extract(raw: bytes, name: str, ocr_mode: str = "auto") -> Extracted:
    if not ocr.available(ocr_mode):
        raise AttachmentError(f"image not read: no OCR ({ocr.skipped_reason(ocr_mode)})")
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise AttachmentError(f"corrupt image: {exc}") from None
    result = Extracted(FileType.IMAGE, title=name, ocr_pages=1)
    unit = Unit(anchor="", location="", blocks=paragraphs(ocr.image_text(image)))
    if unit.empty:
        raise AttachmentError("image without readable text (OCR found none)")
    result.units.append(unit)
    return result
