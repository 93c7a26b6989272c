"""An image a page shows (`<img>`) or links to -> its text through OCR
(ingest.attachments.ocr), when available. Its alt text and caption are already page text
(ingest.parse); this adds what is written inside the picture (a flowchart's boxes, a
screenshot's labels), cited under the section that shows it. A picture without text is
skipped quietly: most images are photos and icons."""

from __future__ import annotations

import io

from ingest.attachments import ocr
from ingest.attachments.text_blocks import paragraphs
from ingest.attachments.units import AttachmentError, Extracted, FileType, NothingToIndex, Unit


MIN_SIDE = 120  # pixels: icons, bullets and spacer images are not sent to Tesseract (~0.3 s each)


def extract(raw: bytes, name: str, ocr_mode: str = "auto") -> Extracted:
    if not ocr.available(ocr_mode):
        raise AttachmentError(f"image not read: no OCR ({ocr.skipped_reason(ocr_mode)})")
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise AttachmentError(f"corrupt image: {exc}") from None
    if image.width < MIN_SIDE or image.height < MIN_SIDE // 3:
        raise NothingToIndex(f"image too small to hold text ({image.width}x{image.height})")
    result = Extracted(FileType.IMAGE, title=name, ocr_pages=1)
    unit = Unit(anchor="", location="", blocks=paragraphs(ocr.image_text(image)))
    if unit.empty:
        raise NothingToIndex("image without readable text (OCR found none)")
    result.units.append(unit)
    return result
